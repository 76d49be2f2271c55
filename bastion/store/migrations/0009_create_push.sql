-- Push rules a user changed (one JSON document per user; the server defaults are not stored) and
-- the notifications push rules produced: one row per (user, event) that notifies or highlights.
CREATE TABLE push_rules (
    user_id TEXT PRIMARY KEY,
    rules TEXT NOT NULL,
    version BIGINT NOT NULL
);

CREATE TABLE event_push_actions (
    user_id TEXT NOT NULL,
    stream_ordering BIGINT NOT NULL,
    room_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    actions TEXT NOT NULL,
    notify INTEGER NOT NULL,
    highlight INTEGER NOT NULL,
    is_read INTEGER NOT NULL DEFAULT 0,
    ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, stream_ordering)
);
-- Unread counts and marking read touch only unread rows.
CREATE INDEX event_push_actions_unread
    ON event_push_actions (user_id, room_id, thread_id, stream_ordering) WHERE is_read = 0;
-- A redacted event's notifications go with it.
CREATE INDEX event_push_actions_by_event ON event_push_actions (event_id);
