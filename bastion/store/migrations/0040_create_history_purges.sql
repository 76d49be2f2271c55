-- Purging a room's history up to a point (Synapse's `POST /_synapse/admin/v1/purge_history`,
-- services/retention/history_purge.py): one row per purge, so a purge survives a restart (the
-- next start resumes it) and its status can be read back by `purge_id` from any process.
--
-- `before_position`: the room's message events below this stream position go; state events, the
-- room's latest event and events a legal hold covers always stay (the delete's own clause).
-- `delete_local` (0 or 1): Synapse's `delete_local_events`; without it only other servers'
-- users' events go. `deleted`: how many events went so far (committed with each batch).
CREATE TABLE history_purges (
    purge_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    before_position BIGINT NOT NULL,
    delete_local INTEGER NOT NULL,
    -- active | complete | failed
    status TEXT NOT NULL,
    deleted BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    created_ts BIGINT NOT NULL,
    updated_ts BIGINT NOT NULL
);
CREATE INDEX history_purges_by_status ON history_purges (status, created_ts);
