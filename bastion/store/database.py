"""The database seam: one small interface over SQLite and PostgreSQL.

SQL in the stores is written once, with `?` placeholders and portable syntax
(`INSERT ... ON CONFLICT`, `RETURNING`); the PostgreSQL backend rewrites them to `$n`.
Store methods take a `Queryable` explicitly, so a reader sees where each transaction begins and
ends: either the `Database` itself (each statement on its own) or a `Transaction` from
`db.transaction()`. Transactions never nest: on SQLite the write lock is not re-entrant.

Invariants:
- A transaction commits when its `async with` block exits normally and rolls back on any exception.
- Unique-key violations surface as `UniqueViolation` on both backends, never as a driver exception.
- `query_count` counts every statement sent, for query budgets on hot paths in tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

Dialect = Literal["sqlite", "postgres"]


class Row(Protocol):
    """A result row: columns by name or position (sqlite3.Row and asyncpg.Record both qualify)."""

    def __getitem__(self, key: str | int, /) -> Any: ...


class UniqueViolation(Exception):
    """An INSERT or UPDATE collided with a unique key."""


class DatabaseUnavailable(Exception):
    """The configured database cannot be reached or opened (wrong URL, server down, refused)."""


class Queryable(Protocol):
    """Something that runs SQL: the database (autocommit) or an open transaction."""

    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; returns the number of rows it changed."""
        ...

    async def execute_many(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each parameter tuple."""
        ...

    async def fetch_one(self, sql: str, *args: Any) -> Row | None:
        """First row of the result, or None."""
        ...

    async def fetch_all(self, sql: str, *args: Any) -> list[Row]:
        """Every row of the result."""
        ...

    async def fetch_val(self, sql: str, *args: Any) -> Any:
        """First column of the first row, or None when there is no row."""
        ...


class Transaction(Queryable, Protocol):
    """An open transaction; see `Database.transaction`."""


class Database(Queryable, Protocol):
    """A connection pool for one database, with the dialect it speaks."""

    query_count: int

    @property
    def dialect(self) -> Dialect:
        """Which SQL dialect the database speaks."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """Open a read-write transaction: commit on normal exit, roll back on exception."""
        ...

    async def apply_migration(self, version: int, name: str, script: str, now_ms: int) -> bool:
        """Apply one migration script atomically unless `version` is already recorded.

        Returns True if it was applied now. Safe when several processes start at once.
        """
        ...

    def exclusive(self, name: str) -> AbstractAsyncContextManager[None]:
        """Held by one process at a time, among every process serving this database, for work
        named `name` that must not run twice at once in different processes (the start-up
        backfills: app/runtime.py; a user's offboarding). Waits until free. Within a process
        the caller serialises its own tasks (this is not re-entrant, and each holder may use a
        connection). PostgreSQL: an advisory lock; SQLite: nothing (one process serves it)."""
        ...

    async def reclaim_space(self) -> None:
        """Give the space of deleted rows back to the file system (after a large purge).

        SQLite: incremental vacuum (a database made before auto_vacuum=INCREMENTAL is switched
        by one full VACUUM) and a WAL checkpoint; PostgreSQL: nothing (autovacuum)."""
        ...

    async def close(self) -> None:
        """Close every connection."""
        ...


SCHEMA_VERSION_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ts BIGINT NOT NULL)"
)
RECORD_MIGRATION_SQL = "INSERT INTO schema_version (version, name, applied_ts) VALUES (?, ?, ?)"


def redacted_url(url: str) -> str:
    """`url` with any password replaced by `***`, fit for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
