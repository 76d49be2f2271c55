-- A random version per stored sliding-sync position (services/sliding_sync/connection.py): a
-- process that keeps a connection's memory in memory writes the next position only if the
-- position it answered from is still the row it knows (same seq and version), so a position
-- another process replaced meanwhile (a retry of the previous pos served there) is noticed.
-- Rows stored before this have version 0.
ALTER TABLE sliding_sync_positions ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
