-- Full-text search over room events (spec: client-server-api#server-side-search), PostgreSQL.
--
-- One row per searchable event: the `content.body` of m.room.message, the `content.name` of
-- m.room.name, the topic of m.room.topic. `vector` is built from the normalised tokens made by
-- services/search/normalize.py (a tsvector literal with positions, not to_tsvector: no text
-- search configuration or locale takes part), so SQLite and PostgreSQL match the same way. The
-- event pipeline writes the row in the transaction that stores the event, and deletes it in the
-- transaction that redacts the event.
CREATE TABLE event_search (
    stream_ordering BIGINT PRIMARY KEY,
    room_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    key TEXT NOT NULL,
    vector TSVECTOR NOT NULL
);
CREATE INDEX event_search_vector ON event_search USING GIN (vector);
CREATE INDEX event_search_by_room ON event_search (room_id, stream_ordering);

-- Events stored before this migration are indexed at start-up, newest first, in batches:
-- `upto` is the highest position still to index (0 when done).
CREATE TABLE event_search_backfill (
    upto BIGINT NOT NULL
);
INSERT INTO event_search_backfill (upto) SELECT COALESCE(MAX(stream_ordering), 0) FROM events;
