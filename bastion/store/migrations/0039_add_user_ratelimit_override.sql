-- A per-account rate limit an admin set (Synapse's `override_ratelimit` admin API: a bot that
-- must send more than people do). Both NULL: the server's `requests_per_user`; a rate of 0: no
-- limit at all. Read with the access token on every request (devices.find_token_owner), so a
-- change applies at the account's next request.
ALTER TABLE users ADD COLUMN ratelimit_per_second INTEGER;
ALTER TABLE users ADD COLUMN ratelimit_burst INTEGER;
