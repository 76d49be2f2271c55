-- Quarantined media (services/media/admin.py, the admin API's media endpoints): an admin takes a
-- file out of reach without deleting it (a legal hold or an export may still need it). While
-- `quarantined_ts` is set, downloads and thumbnails answer 404 as for unknown media, and an
-- upload of the same bytes (same SHA-256) is refused, so a removed file cannot be shared again.
ALTER TABLE media ADD COLUMN quarantined_by TEXT;
ALTER TABLE media ADD COLUMN quarantined_ts BIGINT;
CREATE INDEX media_quarantined_by_sha256 ON media (sha256) WHERE quarantined_ts IS NOT NULL;
