-- A redaction replaces the stored PDU of its target with the redacted form (so no read path can
-- return what a moderator removed); the original moves here, out of every client read path, for
-- compliance (legal hold, export) until it is pruned.
CREATE TABLE redacted_event_originals (
    event_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    redacted_by TEXT NOT NULL,
    redacted_ts BIGINT NOT NULL,
    pdu TEXT NOT NULL
);
CREATE INDEX redacted_event_originals_by_time ON redacted_event_originals (redacted_ts);

-- The start-up backlog job looks for redacted events not yet pruned: read only those.
CREATE INDEX events_redacted ON events (stream_ordering) WHERE redacted_by IS NOT NULL;
