-- Simplified sliding sync (MSC4186) connection memory (services/sliding_sync/connection.py,
-- docs/subsystems/sliding-sync.md). A connection is one client sync loop, named by (user_id,
-- device_id, conn_id); `conn_key` is the random name it goes by in `pos` tokens. Each response
-- that changed what the connection remembers gets a new `seq` (1, 2, ...); the client's `pos`
-- names the connection and the `seq` it has acknowledged.
--
-- `sliding_sync_positions`: per issued seq, the rooms that response covered (`scope`, JSON:
-- each list's rooms in range and the subscribed rooms; they are up to date as of the token's
-- stream position, and the extensions compare it with the next response's).
-- `sliding_sync_rooms`: what was sent for each room (a RoomMemory as JSON), written at the seq
-- of the response that changed it; the memory as of seq N is, for each room, its row with the
-- greatest seq <= N. A request with pos N deletes rows above N (responses the client never
-- processed) and rows below N that a newer row at or below N supersedes; so the client may
-- retry N until it uses N+1.
CREATE TABLE sliding_sync_connections (
    conn_key TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    conn_id TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    last_used_ts BIGINT NOT NULL
);
CREATE UNIQUE INDEX sliding_sync_connections_by_device
    ON sliding_sync_connections (user_id, device_id, conn_id);
CREATE INDEX sliding_sync_connections_by_use ON sliding_sync_connections (last_used_ts);

CREATE TABLE sliding_sync_positions (
    conn_key TEXT NOT NULL,
    seq BIGINT NOT NULL,
    scope TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    PRIMARY KEY (conn_key, seq)
);

CREATE TABLE sliding_sync_rooms (
    conn_key TEXT NOT NULL,
    room_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    memory TEXT NOT NULL,
    PRIMARY KEY (conn_key, room_id, seq)
);
