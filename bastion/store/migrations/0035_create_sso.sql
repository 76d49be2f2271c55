-- Single sign-on through OpenID Connect (services/sso/, docs/subsystems/auth.md).
--
-- sso_sessions: one row per sign-in started at /login/sso/redirect, taken (deleted) by the
-- IdP's callback on whichever process it reaches, and valid ten minutes. `state_hash` is the
-- HMAC of the `state` sent to the IdP; `browser_hash` the HMAC of the secret in the browser's
-- cookie, which the callback must present. The PKCE verifier and the nonce are derived from
-- that browser secret, so a leaked row cannot redeem the IdP's code or forge the nonce.
CREATE TABLE sso_sessions (
    state_hash TEXT PRIMARY KEY,
    browser_hash TEXT NOT NULL,
    idp_id TEXT NOT NULL,
    redirect_url TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    uia_session TEXT  -- set when the sign-in confirms a UIA session (below) instead of logging in
);
CREATE INDEX sso_sessions_by_age ON sso_sessions (created_ts);

-- sso_login_tokens: the spec's short-lived login token (m.login.token), handed to the client
-- after a successful callback; single use, two minutes. Only its HMAC is stored, as for access
-- tokens. `idp_id` names the provider in the login's audit record.
CREATE TABLE sso_login_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (user_id),
    idp_id TEXT NOT NULL,
    expires_ts BIGINT NOT NULL
);
CREATE INDEX sso_login_tokens_by_expiry ON sso_login_tokens (expires_ts);

-- sso_identities: the IdP subject (`sub`) an account first signed in as, per provider (trust on
-- first use). Later sign-ins find the account by its subject, so an IdP's rename of the user
-- (their localpart claim changes) still reaches it; and a different subject whose claim names an
-- account already linked is refused (a recycled or edited username cannot take it over).
CREATE TABLE sso_identities (
    idp_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (user_id),
    created_ts BIGINT NOT NULL,
    PRIMARY KEY (idp_id, subject),
    UNIQUE (idp_id, user_id)
);

-- User-Interactive Auth by single sign-on (the spec's m.login.sso stage, through its fallback
-- page): `uia_sessions.action` says in words what the session guards (removing devices,
-- resetting cross-signing keys...), for the page asking the user to confirm it; `sso_reauths`
-- holds the UIA sessions whose user then signed in with their provider, until the retried
-- request (auth: {session}) takes the row, once, if the account is the requester's.
ALTER TABLE uia_sessions ADD COLUMN action TEXT NOT NULL DEFAULT '';
CREATE TABLE sso_reauths (
    uia_session TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (user_id),
    completed_ts BIGINT NOT NULL
);
