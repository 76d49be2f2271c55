-- The organisation policy document (services/policy/), one row per version; the highest version
-- is in force. Old versions stay, so every change can be shown and diffed.
CREATE TABLE org_policy (
    version BIGINT PRIMARY KEY,
    document TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_ts BIGINT NOT NULL
);
