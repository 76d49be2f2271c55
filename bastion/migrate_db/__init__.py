"""`bastion migrate-db --to postgresql://...`: move a SQLite deployment to PostgreSQL.

An operator tool beside the layers (the CLI calls it), like backup/: it reads the SQLite file
through a connection of its own and writes PostgreSQL through `open_database`. The safety design:

- The server is stopped, and stays stopped: the SQLite file is opened with
  `locking_mode=EXCLUSIVE` and read in one `BEGIN EXCLUSIVE` transaction (source.py). That lock
  is refused while any other connection has the file open (a running server, even idle), and
  while we hold it no server can open the file: the copy is of one consistent state.
- The source is never written; media files are never touched (they stay where
  `[media] store_path` says; only `[database] url` changes).
- The target must be empty: no table at all in the schema, or exactly a fresh migration (the
  current schema version, and no row but those the migrations themselves write). Anything else
  is refused before a row is written (target.py).
- Every row is copied inside ONE PostgreSQL transaction, in batches (bounded memory); the counts
  per table are compared inside it, and any failure or mismatch rolls everything back, so the
  target is either a complete copy or as empty as it was (migrated schema, no data).
- What differs between the dialects is converted per target column type (integers, text,
  booleans, bytea, JSON); the search index is rebuilt in PostgreSQL's form (a tsvector from the
  same tokens) instead of copying SQLite's FTS5 shadow tables; identity columns restart after
  their highest value; stream positions are copied as they are (every position lives in a row,
  and an allocator, in-process or shared, starts above the highest stored one), so sync and
  pagination tokens handed out before stay valid. `stream_writers` (PostgreSQL only: the live
  processes writing the shared stream) starts empty.
"""

from bastion.migrate_db.copy import MigrationReport, TableCount, migrate_to_postgres
from bastion.migrate_db.errors import MigrationRefused

__all__ = ["MigrationRefused", "MigrationReport", "TableCount", "migrate_to_postgres"]
