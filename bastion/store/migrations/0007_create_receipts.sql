-- Read receipts (m.read, m.read.private), one per (room, type, user, thread); thread_id '' is the
-- unthreaded receipt. Each change takes a position from the shared stream counter.
CREATE TABLE receipts (
    room_id TEXT NOT NULL,
    receipt_type TEXT NOT NULL,
    user_id TEXT NOT NULL,
    thread_id TEXT NOT NULL DEFAULT '',
    event_id TEXT NOT NULL,
    ts BIGINT NOT NULL,
    stream_id BIGINT NOT NULL,
    PRIMARY KEY (room_id, receipt_type, user_id, thread_id)
);
CREATE INDEX receipts_by_position ON receipts (stream_id);
CREATE INDEX receipts_by_room ON receipts (room_id, stream_id);
