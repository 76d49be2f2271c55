-- Room deletion (the admin API's `DELETE /_synapse/admin/v2/rooms/{roomId}`): one row per job,
-- so a job survives a restart and its status can be read back by `delete_id`; and the rooms an
-- admin blocked (no local user may join or be invited to them again).
CREATE TABLE room_deletions (
    delete_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    -- scheduled | active | complete | failed
    status TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    -- the request's options (block, purge, message, new_room_user_id, ...), JSON
    options TEXT NOT NULL,
    -- progress so far (kicked_users, failed_to_kick_users, local_aliases, new_room_id), JSON
    result TEXT NOT NULL,
    error TEXT,
    created_ts BIGINT NOT NULL,
    updated_ts BIGINT NOT NULL
);
CREATE INDEX room_deletions_by_room ON room_deletions (room_id, created_ts);
CREATE INDEX room_deletions_by_status ON room_deletions (status, created_ts);

CREATE TABLE blocked_rooms (
    room_id TEXT PRIMARY KEY,
    blocked_by TEXT NOT NULL,
    blocked_ts BIGINT NOT NULL
);
