-- Event relationships (spec: client-server-api#forming-relationships-between-events) and the
-- thread list.
--
-- One `event_relations` row per child event whose content carries an `m.relates_to` with a
-- `rel_type` (rich replies have none and are not relations). The event pipeline writes it in the
-- transaction that stores the child, and deletes it in the transaction that redacts the child:
-- redaction strips `m.relates_to`, so the relationship ends. The type, sender, position and
-- timestamp are copies of the child's (immutable) columns, so aggregations, duplicate-annotation
-- checks and recursive walks need no join per level.

CREATE TABLE event_relations (
    event_id TEXT PRIMARY KEY,
    relates_to_id TEXT NOT NULL,
    rel_type TEXT NOT NULL,
    -- the `key` of an m.annotation
    aggregation_key TEXT,
    room_id TEXT NOT NULL,
    type TEXT NOT NULL,
    sender TEXT NOT NULL,
    stream_ordering BIGINT NOT NULL,
    origin_server_ts BIGINT NOT NULL
);
CREATE INDEX event_relations_by_parent
    ON event_relations (relates_to_id, rel_type, stream_ordering);

-- One row per thread root with at least one live m.thread child: where its latest activity is,
-- so GET /threads lists threads newest activity first without grouping their events.
CREATE TABLE threads (
    room_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    latest_event_id TEXT NOT NULL,
    latest_position BIGINT NOT NULL,
    PRIMARY KEY (room_id, thread_id)
);
CREATE INDEX threads_by_activity ON threads (room_id, latest_position);
