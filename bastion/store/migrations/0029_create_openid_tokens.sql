-- OpenID tokens (spec: client-server-api#openid): a user asks for one to prove who they are to a
-- third party (a widget, Element Call's token service), which checks it at
-- /_matrix/federation/v1/openid/userinfo. As for access tokens only an HMAC of the token is
-- stored. A token lives an hour; expired rows are deleted when the next token is issued.
CREATE TABLE openid_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (user_id),
    expires_ts BIGINT NOT NULL
);
CREATE INDEX openid_tokens_by_expiry ON openid_tokens (expires_ts);
