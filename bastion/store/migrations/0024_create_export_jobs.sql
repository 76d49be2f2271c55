-- Compliance exports (services/export/): one row per export job, so a job survives a restart
-- and its status, progress and files can be read back by `export_id`.
--
-- `kind` is 'conversations' (rooms, users, time range) or 'subject' (a GDPR subject-access
-- export of one user). `status` is running | done | failed; a job left `running` by a process
-- that stopped is run again from the start by the next one (its partial archive is replaced).
-- `options` holds the request as JSON; `files` the archive's top-level files as JSON, filled in
-- when the job is done. The archive itself lives in the export folder, named by `export_id`.
CREATE TABLE export_jobs (
    export_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    options TEXT NOT NULL,
    done_events BIGINT NOT NULL DEFAULT 0,
    total_events BIGINT NOT NULL DEFAULT 0,
    files TEXT NOT NULL,
    error TEXT,
    created_ts BIGINT NOT NULL,
    updated_ts BIGINT NOT NULL
);
CREATE INDEX export_jobs_by_status ON export_jobs (status, created_ts);
