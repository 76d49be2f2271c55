-- Synapse's shadow ban (`POST/DELETE /_synapse/admin/v1/users/{userId}/shadow_ban`,
-- services/shadow_ban.py): the account's requests are answered as if they worked, but its room
-- events, invites, typing and profile changes reach no one. Read with the access token on every
-- request, so a change applies at the account's next request on every process.
ALTER TABLE users ADD COLUMN shadow_banned INTEGER NOT NULL DEFAULT 0;
