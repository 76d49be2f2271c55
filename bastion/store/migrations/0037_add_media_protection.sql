-- Media an admin protects from quarantine, and when each file was last served (services/media/
-- admin.py, the admin API's media endpoints).
--
-- `safe_from_quarantine` (0 or 1): a sticker pack, an organisation's logo, a form everyone shares:
-- quarantining a room's or a user's files, or a copy of the same bytes, passes over it.
-- `last_access_ts`: set when a download or thumbnail is served (at most once an hour per file),
-- so that deleting old files by date removes what nobody has used since, not what is merely old.
ALTER TABLE media ADD COLUMN safe_from_quarantine INTEGER NOT NULL DEFAULT 0;
ALTER TABLE media ADD COLUMN last_access_ts BIGINT;
