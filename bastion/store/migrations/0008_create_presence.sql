-- Presence (spec: client-server-api#presence): one row per user who ever had one.
--
-- stream_id is the position (shared stream counter) of the last change other people can see:
-- state, status_msg or currently_active. The activity timestamps are refreshed in place, without
-- a new position, at most about once a minute per user; the process that serves a user's syncs
-- holds fresher ones in memory. Invariant: currently_active = 1 only when state = 'online'.
CREATE TABLE presence (
    user_id TEXT PRIMARY KEY,
    -- 'online' | 'unavailable' | 'offline'
    state TEXT NOT NULL,
    status_msg TEXT,
    last_active_ts BIGINT NOT NULL,
    currently_active INTEGER NOT NULL DEFAULT 0,
    -- when a sync of this user was last seen (started or ended)
    last_sync_ts BIGINT NOT NULL,
    stream_id BIGINT NOT NULL
);
-- /sync: changes in a token window.
CREATE INDEX presence_by_position ON presence (stream_id);
-- The expiry sweep: online users idle for a while, and users not offline who stopped syncing.
-- Partial, so offline users (most of them, most of the time) cost the sweep nothing.
CREATE INDEX presence_online_by_activity ON presence (last_active_ts) WHERE state = 'online';
CREATE INDEX presence_live_by_sync ON presence (last_sync_ts) WHERE state <> 'offline';
