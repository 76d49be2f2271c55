-- Shared-secret registration (services/shared_secret_registration.py, Synapse's
-- `/_synapse/admin/v1/register`): the one-time nonces handed out, in the database so that a
-- nonce fetched from one process is accepted by another. A nonce is deleted when it is used
-- (even by a request whose MAC is wrong) and is accepted for 60 seconds.
CREATE TABLE registration_nonces (
    nonce TEXT PRIMARY KEY,
    created_ts BIGINT NOT NULL
);
CREATE INDEX registration_nonces_by_age ON registration_nonces (created_ts);
