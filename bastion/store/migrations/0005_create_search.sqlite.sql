-- Full-text search over room events (spec: client-server-api#server-side-search), SQLite.
--
-- One `event_search` row per searchable event: the `content.body` of m.room.message, the
-- `content.name` of m.room.name, the topic of m.room.topic. `tokens` holds the normalised tokens
-- made by services/search/normalize.py, separated by spaces. The event pipeline writes the row
-- in the transaction that stores the event, and deletes it in the transaction that redacts it.
CREATE TABLE event_search (
    stream_ordering INTEGER PRIMARY KEY,
    room_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    key TEXT NOT NULL,
    tokens TEXT NOT NULL
);

-- The FTS5 index over `event_search.tokens` (external content: the text is stored once), kept
-- in step by the triggers below. The `ascii` tokenizer splits only on ASCII spaces and
-- punctuation, so FTS5 sees exactly the tokens made in Python and SQLite matches as PostgreSQL
-- does. Room, sender and key stay in the plain table: a join on its primary key filters a match
-- much more cheaply than an UNINDEXED FTS5 column.
CREATE VIRTUAL TABLE event_search_fts USING fts5(
    tokens,
    content = 'event_search',
    content_rowid = 'stream_ordering',
    tokenize = 'ascii'
);
CREATE TRIGGER event_search_insert AFTER INSERT ON event_search BEGIN
    INSERT INTO event_search_fts (rowid, tokens) VALUES (new.stream_ordering, new.tokens);
END;
CREATE TRIGGER event_search_delete AFTER DELETE ON event_search BEGIN
    INSERT INTO event_search_fts (event_search_fts, rowid, tokens)
        VALUES ('delete', old.stream_ordering, old.tokens);
END;

-- Events stored before this migration are indexed at start-up, newest first, in batches:
-- `upto` is the highest position still to index (0 when done).
CREATE TABLE event_search_backfill (
    upto BIGINT NOT NULL
);
INSERT INTO event_search_backfill (upto) SELECT COALESCE(MAX(stream_ordering), 0) FROM events;
