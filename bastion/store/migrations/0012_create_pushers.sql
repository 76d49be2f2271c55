-- Pushers (spec: client-server-api#post_matrixclientv3pushersset): where a user's notifications
-- go, one row per (user, app_id, pushkey).
--
-- A pusher belongs to the device of the access token that set it: deleting the device (logout,
-- DELETE /devices, deactivation) deletes its pushers through the foreign key, in the same
-- transaction.
--
-- `last_stream_ordering` is how far delivery got: the next push is the first notifying event
-- after it (read from event_push_generic / event_push_user), so a restart resumes where the last
-- successful request left off. `failing_since` is when the current run of failed attempts began
-- (NULL when the last attempt succeeded), so the give-up bound holds across restarts.
CREATE TABLE pushers (
    user_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    pushkey TEXT NOT NULL,
    device_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    app_display_name TEXT NOT NULL,
    device_display_name TEXT NOT NULL,
    profile_tag TEXT,
    lang TEXT NOT NULL,
    data TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    last_stream_ordering BIGINT NOT NULL,
    failing_since BIGINT,
    PRIMARY KEY (user_id, app_id, pushkey),
    FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);
CREATE INDEX pushers_by_pushkey ON pushers (app_id, pushkey);
CREATE INDEX pushers_by_device ON pushers (user_id, device_id);
