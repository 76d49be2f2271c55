-- SCIM 2.0 provisioning (RFC 7643/7644): the identity providers' bearer tokens, what SCIM knows
-- about accounts (the IdP's userName and externalId), groups, their members and the rooms a group
-- is linked to. Accounts themselves stay in `users`; a group member is a local account.

-- Only an HMAC of each token is stored, as for access tokens: a copy of the database logs no
-- identity provider in. A revoked token's row is deleted.
CREATE TABLE scim_tokens (
    name TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_ts BIGINT NOT NULL,
    last_used_ts BIGINT
);

CREATE TABLE scim_users (
    user_id TEXT PRIMARY KEY REFERENCES users (user_id),
    user_name TEXT NOT NULL,
    external_id TEXT,
    -- The attributes Bastion does not act on (emails, name, department...), as JSON: kept and
    -- returned as the IdP sent them, so the IdP's view of the account round-trips.
    attributes TEXT NOT NULL DEFAULT '{}',
    created_ts BIGINT NOT NULL,
    updated_ts BIGINT NOT NULL,
    -- Set by a SCIM DELETE: the account stays (deactivated, its ID never reused) but SCIM
    -- answers 404 for it from then on, as RFC 7644 §3.6 asks.
    deleted_ts BIGINT
);
CREATE INDEX scim_users_by_external_id ON scim_users (external_id);

CREATE TABLE scim_groups (
    group_id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    external_id TEXT,
    created_ts BIGINT NOT NULL,
    updated_ts BIGINT NOT NULL
);

CREATE TABLE scim_group_members (
    group_id TEXT NOT NULL REFERENCES scim_groups (group_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (user_id),
    display TEXT,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX scim_group_members_by_user ON scim_group_members (user_id);

CREATE TABLE scim_group_rooms (
    group_id TEXT NOT NULL REFERENCES scim_groups (group_id) ON DELETE CASCADE,
    room_id TEXT NOT NULL,
    PRIMARY KEY (group_id, room_id)
);
