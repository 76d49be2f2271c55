-- Moderation (services/moderation/), SQLite; the PostgreSQL file differs only in how `reports.id`
-- is numbered (an identity column there, the rowid here).
--
-- reports: the one report queue. Users' reports of an event, a room or a user (spec:
-- client-server-api#reporting-content) are rows here; `kind` says which. An event report keeps
-- the event's sender (`target_user_id`) as the event stood when reported. `status` is `open`
-- until an admin dismisses or resolves it (`handled_by`, `handled_ts`); Synapse's DELETE removes
-- the row. Synapse's `event_reports` API reads the `event` rows; Bastion's queue reads them all.
CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    received_ts BIGINT NOT NULL,
    reporter TEXT NOT NULL,
    room_id TEXT,
    event_id TEXT,
    target_user_id TEXT,
    reason TEXT,
    score BIGINT,
    status TEXT NOT NULL,
    handled_by TEXT,
    handled_ts BIGINT
);
CREATE INDEX reports_by_kind ON reports (kind, id);
CREATE INDEX reports_by_status ON reports (status, id);

-- redaction_jobs: an admin's "remove all of this user's messages" (in one room or everywhere), a
-- durable job done in bounded batches by a background worker. `after_position` is the progress
-- (every message of the user at or before it is handled) and is committed with each batch;
-- `upto_position` bounds the job to the messages that existed when it was asked for.
CREATE TABLE redaction_jobs (
    job_id TEXT PRIMARY KEY,
    requested_by TEXT NOT NULL,
    user_id TEXT NOT NULL,
    room_id TEXT,
    reason TEXT,
    status TEXT NOT NULL,
    after_position BIGINT NOT NULL,
    upto_position BIGINT NOT NULL,
    redacted BIGINT NOT NULL,
    refused BIGINT NOT NULL,
    error TEXT,
    created_ts BIGINT NOT NULL,
    updated_ts BIGINT NOT NULL
);
CREATE INDEX redaction_jobs_by_status ON redaction_jobs (status, created_ts);

-- A user's messages, in order, for the redaction jobs.
CREATE INDEX events_by_sender ON events (sender, stream_ordering);
