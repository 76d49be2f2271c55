-- Push rules a user changed (one JSON document per user; the server defaults are not stored) and
-- the notifications push rules produce.
--
-- Notifications are stored so that a message costs a constant number of rows whatever the size
-- of its room: `event_push_generic` holds what the rules gave an event for every member who kept
-- the default rules and whom the event does not name, numbered by running totals per (room,
-- thread); `push_thread_counters` holds the current totals; `event_push_user` holds only the
-- members whose outcome differs (mentioned, own rules, ignoring the sender, invited). A user's
-- unread count in a thread is the thread's total minus the total where they read up to
-- (`push_read_marks`), corrected by their own differing rows after that point.
CREATE TABLE push_rules (
    user_id TEXT PRIMARY KEY,
    rules TEXT NOT NULL,
    version BIGINT NOT NULL
);

CREATE TABLE event_push_generic (
    room_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    stream_ordering BIGINT NOT NULL,
    event_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    actions TEXT NOT NULL,
    notify INTEGER NOT NULL,
    highlight INTEGER NOT NULL,
    notify_seq BIGINT NOT NULL,
    highlight_seq BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    PRIMARY KEY (room_id, thread_id, stream_ordering)
);
CREATE INDEX event_push_generic_by_position ON event_push_generic (room_id, stream_ordering);
CREATE INDEX event_push_generic_by_event ON event_push_generic (event_id);

CREATE TABLE push_thread_counters (
    room_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    notify_seq BIGINT NOT NULL,
    highlight_seq BIGINT NOT NULL,
    PRIMARY KEY (room_id, thread_id)
);

CREATE TABLE event_push_user (
    user_id TEXT NOT NULL,
    stream_ordering BIGINT NOT NULL,
    room_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    actions TEXT NOT NULL,
    notify INTEGER NOT NULL,
    highlight INTEGER NOT NULL,
    generic_notify INTEGER NOT NULL,
    generic_highlight INTEGER NOT NULL,
    ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, stream_ordering)
);
CREATE INDEX event_push_user_by_room ON event_push_user (user_id, room_id, thread_id, stream_ordering);
CREATE INDEX event_push_user_by_event ON event_push_user (event_id);

CREATE TABLE push_read_marks (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    stream_ordering BIGINT NOT NULL,
    notify_seq BIGINT NOT NULL,
    highlight_seq BIGINT NOT NULL,
    PRIMARY KEY (user_id, room_id, thread_id)
);
-- A redaction takes its event out of the totals of marks at or after it.
CREATE INDEX push_read_marks_by_thread ON push_read_marks (room_id, thread_id, stream_ordering);
