-- Synapse's `POST /_synapse/admin/v1/user/{userId}/redact` (services/moderation/redactions.py):
-- a user-redaction job may cover a list of rooms, a time window and, per room, only the newest
-- messages. `rooms`: a JSON array of room IDs (NULL: `room_id` alone, or every room);
-- `after_ts`/`before_ts`: origin_server_ts bounds, inclusive (NULL: unbounded); `room_floors`:
-- a JSON object room ID -> the lowest stream position the job covers in that room (rooms absent:
-- no floor), fixed when the job is queued; `failed`: a JSON object event ID -> why that message
-- could not be redacted (at most 1,000 kept; `refused` counts them all).
ALTER TABLE redaction_jobs ADD COLUMN rooms TEXT;
ALTER TABLE redaction_jobs ADD COLUMN after_ts BIGINT;
ALTER TABLE redaction_jobs ADD COLUMN before_ts BIGINT;
ALTER TABLE redaction_jobs ADD COLUMN room_floors TEXT;
ALTER TABLE redaction_jobs ADD COLUMN failed TEXT;
