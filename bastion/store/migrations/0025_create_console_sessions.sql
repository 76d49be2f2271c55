-- Admin console sign-ins (bastion/console/, services/console/sessions.py): one row per browser
-- session. The cookie holds a random session ID; only its HMAC-SHA256 (`session_hash`) is
-- stored, like access tokens. `device_id` is the admin's device created at sign-in (display name
-- "Bastion admin console"), the device every console action is audited under; signing out
-- deletes both. `csrf_token` is compared with every form's hidden field. `last_seen_ts` moves on
-- each request; a row idle for longer than [console] idle_timeout_seconds is refused and deleted.
CREATE TABLE console_sessions (
    session_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    language TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    last_seen_ts BIGINT NOT NULL
);
CREATE INDEX console_sessions_by_user ON console_sessions (user_id);
