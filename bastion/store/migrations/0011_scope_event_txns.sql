-- Idempotent sends are scoped to the device AND the endpoint (spec: "Transaction identifiers":
-- "The scope of a transaction ID is for a single device, and a single HTTP endpoint").
-- `event_txns` keyed a send by (user, device, txn_id) alone, so reusing a txn_id in another room
-- returned the other room's event and stored nothing. `endpoint` names the request path without
-- the txn_id: `send/{roomId}/{eventType}` or `redact/{roomId}/{eventId}`.
CREATE TABLE room_event_txns (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id, endpoint, txn_id)
);

-- Sends recorded before this migration keep answering retries: their endpoint is rebuilt from the
-- event they created (a redaction made through /redact is recorded as a send of
-- m.room.redaction; a retry of it after the upgrade makes a second, harmless redaction).
INSERT INTO room_event_txns (user_id, device_id, endpoint, txn_id, event_id, created_ts)
SELECT t.user_id, t.device_id, 'send/' || e.room_id || '/' || e.type, t.txn_id, t.event_id,
       t.created_ts
FROM event_txns t JOIN events e ON e.event_id = t.event_id;

-- Step one of three for dropping event_txns: nothing reads or writes it any more.

-- The same rule for `PUT /sendToDevice/{eventType}/{txnId}`: `endpoint` is
-- `sendToDevice/{eventType}`. Sends recorded before this migration are not carried over (their
-- event type is not kept); a client retrying across the upgrade may deliver one message twice,
-- which the olm layer already tolerates, rather than lose one.
CREATE TABLE to_device_endpoint_txns (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id, endpoint, txn_id)
);

-- Step one of three for dropping to_device_txns: nothing reads or writes it any more.
