-- Offboarding jobs (services/offboarding/): one row per workflow run, holding which step runs
-- next and the report so far, updated in the transaction of each step's (or room's) work, so a
-- job stopped anywhere resumes after its last committed piece. `step` is 'done' once finished.
-- `erase_after` is the erasure's cursor (stream ordering of the last event it looked at).
-- At most one unfinished job per user: offboarding a user twice resumes the first job.
CREATE TABLE offboarding_jobs (
    job_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    erase INTEGER NOT NULL,
    step TEXT NOT NULL,
    report TEXT NOT NULL,
    erase_after BIGINT NOT NULL DEFAULT 0,
    created_ts BIGINT NOT NULL,
    updated_ts BIGINT NOT NULL,
    finished_ts BIGINT
);
CREATE INDEX offboarding_jobs_by_user ON offboarding_jobs (user_id, created_ts);
CREATE UNIQUE INDEX offboarding_jobs_one_unfinished ON offboarding_jobs (user_id)
    WHERE finished_ts IS NULL;
