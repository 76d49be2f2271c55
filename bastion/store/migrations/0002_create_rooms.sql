-- Rooms, their events and current state, memberships, aliases, account data and filters.
--
-- One global, monotonically increasing stream position orders everything /sync reads:
-- events.stream_ordering and account_data.stream_id draw from the same counter, so a sync
-- token is a single number for every persisted stream.

CREATE TABLE rooms (
    room_id TEXT PRIMARY KEY,
    room_version TEXT NOT NULL,
    creator TEXT NOT NULL,
    is_public INTEGER NOT NULL DEFAULT 0,
    created_ts BIGINT NOT NULL,
    -- The newest event: on one server a room's history is a line, and this is its end.
    last_event_id TEXT NOT NULL,
    depth BIGINT NOT NULL
);

CREATE TABLE events (
    stream_ordering BIGINT PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    room_id TEXT NOT NULL,
    type TEXT NOT NULL,
    state_key TEXT,
    sender TEXT NOT NULL,
    origin_server_ts BIGINT NOT NULL,
    depth BIGINT NOT NULL,
    -- membership of m.room.member, history_visibility of m.room.history_visibility
    state_value TEXT,
    -- the state event this one replaced, and its content and sender (for unsigned.prev_content)
    replaces_state TEXT,
    prev_content TEXT,
    prev_sender TEXT,
    sender_device TEXT,
    txn_id TEXT,
    redacted_by TEXT,
    -- the signed PDU exactly as federation will send it (canonical JSON)
    pdu TEXT NOT NULL
);
CREATE INDEX events_by_room ON events (room_id, stream_ordering);
CREATE INDEX events_by_state_key ON events (room_id, type, state_key, stream_ordering);
CREATE INDEX events_by_time ON events (room_id, origin_server_ts);

CREATE TABLE current_state (
    room_id TEXT NOT NULL,
    type TEXT NOT NULL,
    state_key TEXT NOT NULL,
    event_id TEXT NOT NULL,
    stream_ordering BIGINT NOT NULL,
    PRIMARY KEY (room_id, type, state_key)
);
CREATE INDEX current_state_by_position ON current_state (room_id, stream_ordering);

-- Each user's current membership in each room they ever touched.
CREATE TABLE memberships (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    membership TEXT NOT NULL,
    event_id TEXT NOT NULL,
    stream_ordering BIGINT NOT NULL,
    forgotten INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, room_id)
);
CREATE INDEX memberships_by_room ON memberships (room_id, membership);
CREATE INDEX memberships_by_position ON memberships (user_id, stream_ordering);

-- Idempotent sends: a (user, device, txn_id) maps to the event it created.
CREATE TABLE event_txns (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id, txn_id)
);

CREATE TABLE room_aliases (
    alias TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    creator TEXT NOT NULL,
    created_ts BIGINT NOT NULL
);
CREATE INDEX room_aliases_by_room ON room_aliases (room_id);

-- Account data; room_id is '' for global account data.
CREATE TABLE account_data (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    type TEXT NOT NULL,
    content TEXT NOT NULL,
    stream_id BIGINT NOT NULL,
    PRIMARY KEY (user_id, room_id, type)
);
CREATE INDEX account_data_by_position ON account_data (user_id, stream_id);

CREATE TABLE filters (
    user_id TEXT NOT NULL,
    filter_id TEXT NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (user_id, filter_id)
);
