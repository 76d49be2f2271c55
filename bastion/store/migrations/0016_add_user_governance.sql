-- Governance facts about an account: its manager (the successor when it is offboarded, and
-- SCIM's enterprise `manager`), and an admin's lock (Synapse's `locked`: no login, no requests,
-- until unlocked), apart from the temporary lockout after wrong passwords (`locked_until_ts`).
ALTER TABLE users ADD COLUMN manager TEXT;
ALTER TABLE users ADD COLUMN admin_locked INTEGER NOT NULL DEFAULT 0;
