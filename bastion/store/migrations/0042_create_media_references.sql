-- Which events name which of this server's files (a local `mxc://` URI anywhere in their
-- content), written with each event (services/media/references.py). The purges' question "does
-- anything still name this file?" reads it instead of scanning every stored event's JSON (a
-- full-table LIKE per file, inside the purge's write transaction). A row stays until the file's
-- media row is deleted (store/sql/media.py delete_media_row); the event may have been purged
-- or pruned meanwhile, so readers check that the named event's JSON (or its kept original)
-- still holds the URI.
CREATE TABLE media_references (
    media_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (media_id, event_id)
);

-- Events stored before this table are read at start-up, newest first, in windows of positions
-- (`upto`: the highest position still to read, 0 when done; then the kept originals of events
-- no longer stored), before any purge can run (workers/backfills.py).
CREATE TABLE media_references_backfill (
    upto BIGINT NOT NULL
);
INSERT INTO media_references_backfill (upto) SELECT COALESCE(MAX(stream_ordering), 0) FROM events;
