-- The audit log: append-only, one row per audited action, hash-chained (services/audit/chain.py).
-- `hash` covers the row's own fields and `prev_hash`, so altering a row breaks its hash, and
-- deleting one breaks the chain (or the head, for the last row). Rows are written in the same
-- transaction as the action they record.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    ts BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    outcome TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_by_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_by_target ON audit_log (target, seq);
CREATE INDEX audit_log_by_action ON audit_log (action, seq);
CREATE INDEX audit_log_by_ts ON audit_log (ts, seq);

-- The chain's head: the last sequence number and hash. Appending updates this one row first, so
-- concurrent appenders queue on its row lock (PostgreSQL) or the write lock (SQLite) and the
-- chain never forks; comparing it with the last row finds a deleted tail.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
