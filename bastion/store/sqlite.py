"""SQLite backend: the zero-set-up default.

Two connections: one writer, guarded by an asyncio lock so transactions never interleave, and one
reader for autocommit reads, which WAL mode lets proceed while a write transaction is open.
`BEGIN IMMEDIATE` takes the write lock up front, so a transaction never fails half-way on
SQLITE_BUSY. With `synchronous=NORMAL` in WAL mode a committed transaction survives the server
process being killed; `FULL` also survives power loss.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import aiosqlite

from bastion.store.database import SCHEMA_VERSION_DDL, Row, UniqueViolation

_MIGRATION_NAME = re.compile(r"[a-z0-9_]+")


def _translated(exc: sqlite3.IntegrityError) -> Exception:
    """UniqueViolation for a unique-key collision; any other integrity error as it is."""
    if "UNIQUE" in str(exc) or "PRIMARY KEY" in str(exc):
        return UniqueViolation(str(exc))
    return exc


class _SqliteConnection:
    """Runs statements on one aiosqlite connection, counting them."""

    def __init__(self, conn: aiosqlite.Connection, owner: SqliteDatabase) -> None:
        self._conn = conn
        self._owner = owner

    async def execute(self, sql: str, *args: Any) -> int:
        self._owner.query_count += 1
        try:
            cursor = await self._conn.execute(sql, args)
        except sqlite3.IntegrityError as exc:
            raise _translated(exc) from exc
        rowcount = cursor.rowcount
        await cursor.close()
        return rowcount

    async def execute_many(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        self._owner.query_count += 1
        try:
            await self._conn.executemany(sql, args)
        except sqlite3.IntegrityError as exc:
            raise _translated(exc) from exc

    async def fetch_all(self, sql: str, *args: Any) -> list[Row]:
        self._owner.query_count += 1
        async with self._conn.execute(sql, args) as cursor:
            return list(await cursor.fetchall())

    async def fetch_one(self, sql: str, *args: Any) -> Row | None:
        self._owner.query_count += 1
        async with self._conn.execute(sql, args) as cursor:
            row: Row | None = await cursor.fetchone()
            return row

    async def fetch_val(self, sql: str, *args: Any) -> Any:
        row = await self.fetch_one(sql, *args)
        return None if row is None else row[0]


class SqliteDatabase:
    """A SQLite file in WAL mode."""

    dialect: Final = "sqlite"

    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self.query_count = 0
        self._writer_conn = writer
        self._reader_conn = reader
        self._writer = _SqliteConnection(writer, self)
        self._reader = _SqliteConnection(reader, self)
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str, *, synchronous: str = "normal") -> SqliteDatabase:
        """Open (creating if needed) the database file at `path`."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(path, synchronous)
        reader = await _connect(path, synchronous)
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
    async def transaction(self) -> AsyncIterator[_SqliteConnection]:
        async with self._write_lock:
            await self._writer_conn.execute("BEGIN IMMEDIATE")
            self.query_count += 1
            try:
                yield self._writer
            except BaseException:
                await self._writer_conn.rollback()
                raise
            await self._writer_conn.commit()

    async def apply_migration(self, version: int, name: str, script: str, now_ms: int) -> bool:
        # One SQLite file is served by one process, so the in-process lock is enough here.
        async with self._write_lock:
            conn = self._writer_conn
            await conn.execute(SCHEMA_VERSION_DDL)
            async with conn.execute(
                "SELECT 1 FROM schema_version WHERE version = ?", (version,)
            ) as cursor:
                if await cursor.fetchone() is not None:
                    return False
            if not _MIGRATION_NAME.fullmatch(name):
                raise ValueError(f"invalid migration name {name!r}")
            # executescript commits any open transaction first, so BEGIN and COMMIT go inside.
            # Interpolation is safe: two int() values and a name checked against [a-z0-9_]+.
            values = f"({int(version)}, '{name}', {int(now_ms)})"
            record = f"INSERT INTO schema_version (version, name, applied_ts) VALUES {values};"  # noqa: S608
            try:
                await conn.executescript(f"BEGIN IMMEDIATE;\n{script}\n;{record}\nCOMMIT;")
            except BaseException:
                if conn.in_transaction:
                    await conn.rollback()
                raise
            return True

    async def close(self) -> None:
        await self._reader_conn.close()
        await self._writer_conn.close()


async def _connect(path: str, synchronous: str) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")
    await conn.execute("PRAGMA foreign_keys=ON")
    await conn.execute("PRAGMA busy_timeout=10000")
    return conn
