"""SQLite backend: the zero-set-up default.

Two plain `sqlite3` connections, both used on the event loop itself: a writer, guarded by an
asyncio lock so transactions never interleave, and a reader for reads outside transactions, which
WAL mode lets proceed while a write transaction is open. SQLite work is microseconds per statement
(in WAL with `synchronous=NORMAL` a commit does not wait for the disk), far less than the hop to a
worker thread and back that aiosqlite costs per statement: measured, a send went from 2.6 to
0.8 ms and an incremental sync from 2.9 to 0.3 ms. The price is that a long query holds the loop
for its duration; the queries here are indexed and bounded, and larger sites use PostgreSQL,
whose driver is asynchronous. See docs/decisions/0001-sqlite-on-the-event-loop.md.

`BEGIN IMMEDIATE` takes the write lock up front, so a transaction never fails half-way on
SQLITE_BUSY. A committed transaction survives the server process being killed; `FULL` also
survives power loss. One process serves one SQLite file; the CLI may write alongside it briefly.
The file holds every message: it is created 0600 in a 0700 folder (`private_files.py`).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

from bastion.private_files import make_file_private, make_private_folder
from bastion.store.database import SCHEMA_VERSION_DDL, Row, UniqueViolation

_MIGRATION_NAME = re.compile(r"[a-z0-9_]+")


def _translated(exc: sqlite3.IntegrityError) -> Exception:
    """UniqueViolation for a unique-key collision; any other integrity error as it is."""
    if "UNIQUE" in str(exc) or "PRIMARY KEY" in str(exc):
        return UniqueViolation(str(exc))
    return exc


class _Connection:
    """Runs statements on one sqlite3 connection, on the event loop, counting them."""

    def __init__(self, conn: sqlite3.Connection, owner: SqliteDatabase) -> None:
        self._conn = conn
        self._owner = owner

    async def execute(self, sql: str, *args: Any) -> int:
        self._owner.query_count += 1
        try:
            return self._conn.execute(sql, args).rowcount
        except sqlite3.IntegrityError as exc:
            raise _translated(exc) from exc

    async def execute_many(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        self._owner.query_count += 1
        try:
            self._conn.executemany(sql, args)
        except sqlite3.IntegrityError as exc:
            raise _translated(exc) from exc

    async def fetch_all(self, sql: str, *args: Any) -> list[Row]:
        self._owner.query_count += 1
        return list(self._conn.execute(sql, args).fetchall())

    async def fetch_one(self, sql: str, *args: Any) -> Row | None:
        self._owner.query_count += 1
        row: Row | None = self._conn.execute(sql, args).fetchone()
        return row

    async def fetch_val(self, sql: str, *args: Any) -> Any:
        row = await self.fetch_one(sql, *args)
        return None if row is None else row[0]


class SqliteDatabase:
    """A SQLite file in WAL mode."""

    dialect: Final = "sqlite"

    def __init__(self, writer: sqlite3.Connection, reader: sqlite3.Connection) -> None:
        self.query_count = 0
        self._writer_conn = writer
        self._reader_conn = reader
        self._writer = _Connection(writer, self)
        self._reader = _Connection(reader, self)
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str, *, synchronous: str = "normal") -> SqliteDatabase:
        """Open (creating if needed) the database file at `path`."""
        _make_private(Path(path))
        writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        writer.row_factory = sqlite3.Row
        for pragma in _pragmas(synchronous):
            writer.execute(pragma)
        reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        reader.row_factory = sqlite3.Row
        for pragma in _pragmas(synchronous):
            reader.execute(pragma)
        return cls(writer, reader)

    async def execute(self, sql: str, *args: Any) -> int:
        async with self.transaction() as txn:
            return await txn.execute(sql, *args)

    async def execute_many(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        async with self.transaction() as txn:
            await txn.execute_many(sql, args)

    async def fetch_all(self, sql: str, *args: Any) -> list[Row]:
        return await self._reader.fetch_all(sql, *args)

    async def fetch_one(self, sql: str, *args: Any) -> Row | None:
        return await self._reader.fetch_one(sql, *args)

    async def fetch_val(self, sql: str, *args: Any) -> Any:
        return await self._reader.fetch_val(sql, *args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Connection]:
        async with self._write_lock:
            self._writer_conn.execute("BEGIN IMMEDIATE")
            self.query_count += 1
            try:
                yield self._writer
            except BaseException:
                self._writer_conn.rollback()
                raise
            self._writer_conn.commit()

    async def apply_migration(self, version: int, name: str, script: str, now_ms: int) -> bool:
        # One SQLite file is served by one process, so the in-process lock is enough here.
        async with self._write_lock:
            conn = self._writer_conn
            conn.execute(SCHEMA_VERSION_DDL)
            found = conn.execute("SELECT 1 FROM schema_version WHERE version = ?", (version,))
            if found.fetchone() is not None:
                return False
            if not _MIGRATION_NAME.fullmatch(name):
                raise ValueError(f"invalid migration name {name!r}")
            # Interpolation is safe: two int() values and a name checked against [a-z0-9_]+.
            values = f"({int(version)}, '{name}', {int(now_ms)})"
            record = f"INSERT INTO schema_version (version, name, applied_ts) VALUES {values};"  # noqa: S608
            # executescript commits any open transaction first, so BEGIN and COMMIT go inside.
            try:
                conn.executescript(f"BEGIN IMMEDIATE;\n{script}\n;{record}\nCOMMIT;")
            except BaseException:
                if conn.in_transaction:
                    conn.rollback()
                raise
            return True

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """Nothing to take: one process serves a SQLite file."""
        yield

    async def reclaim_space(self) -> None:
        """Incremental vacuum, then truncate the WAL (the file shrinks); a database created
        before auto_vacuum=INCREMENTAL is switched by one full VACUUM (it rewrites the file,
        holding the write lock meanwhile: once, on the first purge that deletes anything)."""
        async with self._write_lock:
            conn = self._writer_conn
            if conn.execute("PRAGMA auto_vacuum").fetchone()[0] != INCREMENTAL_VACUUM:
                conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
                conn.execute("VACUUM")
            else:
                # executescript steps the pragma to the end; one `execute` frees one page.
                conn.executescript("PRAGMA incremental_vacuum;")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    async def close(self) -> None:
        self._reader_conn.close()
        self._writer_conn.close()


def _make_private(path: Path) -> None:
    """The database file 0600 in a 0700 folder if it creates them; SQLite gives its -wal and -shm
    files the database file's mode. Files an older version left readable are tightened."""
    make_private_folder(path.parent)
    make_file_private(path)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            make_file_private(side)


INCREMENTAL_VACUUM = 2  # PRAGMA auto_vacuum's value for INCREMENTAL


def _pragmas(synchronous: str) -> list[str]:
    return [
        # Only takes effect on a new file (before its first table): retention purges can then
        # give space back with `incremental_vacuum` (reclaim_space).
        "PRAGMA auto_vacuum=INCREMENTAL",
        # Deleted content is overwritten in pages that stay in use (freed pages are truncated
        # away by reclaim_space): a purged or pruned message is gone from the file, not only
        # unreachable.
        "PRAGMA secure_delete=FAST",
        "PRAGMA journal_mode=WAL",
        f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}",
        "PRAGMA foreign_keys=ON",
        # A second process (the CLI while the server runs) waits this long for the write lock.
        "PRAGMA busy_timeout=10000",
    ]
