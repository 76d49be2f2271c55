-- Legal holds, the hold store, compliance roles and the retention purge's progress
-- (services/compliance: docs/compliance.md).
--
-- A hold covers users (every event they sent, in any room, including rooms they left) and rooms
-- (every event in them) while `released_ts` IS NULL. Destructive queries (the retention purge,
-- redacted-content pruning, offboarding's erase) carry `NOT EXISTS` clauses against
-- `legal_hold_users` / `legal_hold_rooms` joined to the active holds, so a held event cannot be
-- deleted even by a caller that skipped a check (store/sql/holds.py writes the clause once).
CREATE TABLE legal_holds (
    hold_id TEXT PRIMARY KEY,
    case_name TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    released_by TEXT,
    released_ts BIGINT
);
CREATE INDEX legal_holds_by_creation ON legal_holds (created_ts, hold_id);

CREATE TABLE legal_hold_users (
    hold_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (hold_id, user_id)
);
CREATE INDEX legal_hold_users_by_user ON legal_hold_users (user_id);

CREATE TABLE legal_hold_rooms (
    hold_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    PRIMARY KEY (hold_id, room_id)
);
CREATE INDEX legal_hold_rooms_by_room ON legal_hold_rooms (room_id);

-- The hold store: the original PDU of a held event that was redacted, kept while any active
-- hold covers it (clients still see the redacted form; exports read this). Filled in the
-- redaction's transaction, when a hold is placed, and before redacted originals are pruned.
CREATE TABLE held_event_originals (
    event_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    redacted_by TEXT,
    held_ts BIGINT NOT NULL,
    pdu TEXT NOT NULL
);
CREATE INDEX held_event_originals_by_room ON held_event_originals (room_id);

-- Roles granted by the admin API (`compliance`: may place, list and release holds).
CREATE TABLE user_roles (
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    granted_ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, role)
);

-- Where an interrupted retention pass resumes: the last room it finished ('' = from the start).
CREATE TABLE retention_progress (
    job TEXT PRIMARY KEY,
    room_cursor TEXT NOT NULL,
    updated_ts BIGINT NOT NULL
);

