-- Application services (services/appservices/): how far each registration's transactions have
-- reached in the event stream. `done_upto`: every event at or below it was delivered (or was of
-- no interest); `pending_upto`, when set, bounds the transaction `txn_id` now being sent, so a
-- retry after a failure or a restart sends the same events under the same ID (the spec forbids
-- changing a transaction's events; `pending_events`, a JSON list of event IDs, and `pending_ephemeral`, the receipts and typing
-- it carries as JSON, are what it holds). `failing_since_ms` and `last_error` say why it is behind.
CREATE TABLE appservice_streams (
    appservice_id TEXT PRIMARY KEY,
    done_upto BIGINT NOT NULL,
    txn_id BIGINT NOT NULL,
    pending_upto BIGINT,
    pending_events TEXT,
    pending_ephemeral TEXT,
    failing_since_ms BIGINT,
    last_error TEXT
);
