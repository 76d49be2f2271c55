"""The SQLite side of `migrate-db`: the file opened exclusively and read in batches.

`locking_mode=EXCLUSIVE` plus `BEGIN EXCLUSIVE` in WAL mode needs every other connection to the
file closed: a server that is running (even idle: its connections stay open) makes the probe
fail at once (timeout 0), and once it succeeds no server can open the file until `close`. All
reads happen in that one transaction, so they see one state.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bastion.migrate_db.errors import MigrationRefused

# Tables that only SQLite has: its own bookkeeping, and the FTS5 index (and its shadow tables)
# over `event_search`, which PostgreSQL replaces by a tsvector column (rebuilt, not copied).
SQLITE_ONLY_PREFIXES = ("sqlite_", "event_search_fts")


class SqliteSource:
    """An exclusively locked SQLite database file, read in one transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @classmethod
    def open(cls, path: Path) -> SqliteSource:
        """Open `path` exclusively.

        Raises:
            MigrationRefused: no such file, or another process (a server) has it open.
        """
        if not path.is_file():
            raise MigrationRefused(f"no SQLite database at {path}")
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=0, isolation_level=None)
        try:
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            conn.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as exc:
            conn.close()
            raise MigrationRefused(
                f"{path} is in use ({exc}): stop the Bastion server (and any other program "
                "using the file) first"
            ) from exc
        return cls(conn)

    def close(self) -> None:
        """End the read transaction and release the lock (nothing was written)."""
        try:
            self._conn.execute("ROLLBACK")
        finally:
            self._conn.close()

    def schema_version(self) -> int:
        """The highest migration applied to the file (0 when it has none)."""
        try:
            value = self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        except sqlite3.OperationalError:
            return 0
        return int(value or 0)

    def tables(self) -> list[str]:
        """Every table, SQLite's own and the FTS5 ones excluded."""
        rows = self._conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        ).fetchall()
        return [name for (name,) in rows if not name.startswith(SQLITE_ONLY_PREFIXES)]

    def columns(self, table: str) -> list[str]:
        """The column names of `table`."""
        return [row[1] for row in self._conn.execute(f'PRAGMA table_info("{table}")')]

    def count(self, table: str) -> int:
        """Rows in `table`."""
        return int(self._conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])  # noqa: S608 - a name read from sqlite_master

    def rows(self, table: str, columns: Sequence[str], batch: int) -> Iterator[list[Any]]:
        """`columns` of every row of `table`, `batch` rows at a time."""
        names = ", ".join(f'"{column}"' for column in columns)
        cursor = self._conn.execute(f'SELECT {names} FROM "{table}"')  # noqa: S608 - names from the schema
        while chunk := cursor.fetchmany(batch):
            yield chunk
