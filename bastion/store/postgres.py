"""PostgreSQL backend for larger sites: an asyncpg pool.

Placeholders written `?` in the stores become `$1, $2, ...` here (cached per statement text;
stores never put a literal `?` in SQL). Migrations take an advisory lock so that several Bastion
processes starting at once apply each migration exactly once.

Round trips are the cost that matters on the hot paths (a woken /sync, a send), so:

* a connection goes back to the pool as it is: asyncpg's default release runs a reset statement
  (`RESET ALL`, `UNLISTEN *`, unlock advisory locks) on every release, one extra round trip per
  statement outside a transaction. Nothing here changes session state on a pooled connection
  (no `SET`, `LISTEN` or session advisory lock: the leases and life lines that need those hold
  connections of their own, store/sql/leases.py, store/lifeline.py); an unfinished transaction
  is still rolled back by asyncpg itself before the connection is reused;
* every statement is prepared once per connection and kept (asyncpg's statement cache, sized
  here to hold all of Bastion's statements, including the `IN (?, ...)` variants by arity).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, Final

import asyncpg

from bastion.store.database import (
    RECORD_MIGRATION_SQL,
    SCHEMA_VERSION_DDL,
    Row,
    UniqueViolation,
)
from bastion.store.sql.leases import lease_key

log = logging.getLogger(__name__)

_MIGRATION_LOCK_KEY = 0x62617374  # "bast"
EXCLUSIVE_NAMESPACE = 0x62617375  # "basu": first half of `exclusive` keys (leases use "bast")
# `exclusive` locks held or awaited at once by one process, each on a connection of its own (a
# burst of offboardings must not take every connection the server allows); more wait here.
EXCLUSIVE_CONNECTIONS = 4
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_STATEMENT_CACHE_SIZE = 1024  # prepared statements kept per connection (asyncpg's default: 100)


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing to undo (see the module docstring)."""


@lru_cache(maxsize=4096)
def to_postgres_placeholders(sql: str) -> str:
    """Rewrite `?` placeholders as `$1..$n`."""
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _m: f"${next(counter)}", sql)


# While waiting for an `exclusive` lock, a line in the log this often (a holder that hangs
# holds up the waiter without bound: the log says who to look at).
WAIT_LOG_EVERY_S = 30.0
_LOCK_HOLDERS_SQL = (
    "SELECT a.pid, a.application_name, host(a.client_addr), a.backend_start"
    " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
    " AND l.classid::bigint = $1 AND l.objid::bigint = $2"
)


async def _advisory_lock(conn: asyncpg.Connection, key: int, name: str, pool: asyncpg.Pool) -> None:
    """Take the session advisory lock (EXCLUSIVE_NAMESPACE, key) on `conn`, waiting for it as
    long as it takes; a wait is logged when it starts and every WAIT_LOG_EVERY_S, naming the
    holder's session (its pid, `application_name` and address)."""
    if await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", EXCLUSIVE_NAMESPACE, key):
        return
    objid = key + (1 << 32) if key < 0 else key  # pg_locks shows the key as an unsigned oid
    started = time.monotonic()
    waiting = asyncio.ensure_future(
        conn.execute("SELECT pg_advisory_lock($1, $2)", EXCLUSIVE_NAMESPACE, key)
    )
    try:
        while True:
            holders = await _holders(pool, objid)
            log.warning(
                "waiting for the lock %r (%.0f s so far), held by %s", name,
                time.monotonic() - started, holders or "a session that just ended",
            )  # fmt: skip
            done, _ = await asyncio.wait({waiting}, timeout=WAIT_LOG_EVERY_S)
            if done:
                waiting.result()
                log.info("took the lock %r after %.1f s", name, time.monotonic() - started)
                return
    finally:
        if not waiting.done():
            waiting.cancel()  # the caller gave up: the session's close drops the request


def lock_holder_name() -> str:
    """What `exclusive`'s connections call themselves (`application_name`, at most 63 bytes):
    who holds a lock another process waits for, in that process's log and for operators."""
    return f"bastion exclusive: pid {os.getpid()} on {socket.gethostname()}"[:63]


async def _holders(pool: asyncpg.Pool, objid: int) -> str:
    """The sessions holding the lock, for the log (read through the pool: the waiting
    connection is busy with its wait). A failure to read them costs the log its detail, not
    the wait."""
    try:
        rows = await pool.fetch(_LOCK_HOLDERS_SQL, EXCLUSIVE_NAMESPACE, objid)
    except (asyncpg.PostgresError, OSError) as exc:
        return f"a session that could not be read ({type(exc).__name__})"
    return "; ".join(
        f"PostgreSQL pid {r[0]} ({r[1] or 'no application_name'}, from {r[2] or 'a local socket'},"
        f" since {r[3]:%Y-%m-%d %H:%M:%S %Z})"
        for r in rows
    )


class _PgConnection:
    """Runs statements on one asyncpg connection, counting them."""

    def __init__(self, conn: asyncpg.Connection, owner: PostgresDatabase) -> None:
        self._conn = conn
        self._owner = owner

    async def execute(self, sql: str, *args: Any) -> int:
        self._owner.query_count += 1
        try:
            status: str = await self._conn.execute(to_postgres_placeholders(sql), *args)
        except asyncpg.UniqueViolationError as exc:
            raise UniqueViolation(str(exc)) from exc
        last = status.rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0

    async def execute_many(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        self._owner.query_count += 1
        try:
            await self._conn.executemany(to_postgres_placeholders(sql), args)
        except asyncpg.UniqueViolationError as exc:
            raise UniqueViolation(str(exc)) from exc

    async def fetch_all(self, sql: str, *args: Any) -> list[Row]:
        self._owner.query_count += 1
        return list(await self._conn.fetch(to_postgres_placeholders(sql), *args))

    async def fetch_one(self, sql: str, *args: Any) -> Row | None:
        self._owner.query_count += 1
        row: Row | None = await self._conn.fetchrow(to_postgres_placeholders(sql), *args)
        return row

    async def fetch_val(self, sql: str, *args: Any) -> Any:
        self._owner.query_count += 1
        return await self._conn.fetchval(to_postgres_placeholders(sql), *args)


class PostgresDatabase:
    """A pool of connections to one PostgreSQL database."""

    dialect: Final = "postgres"

    def __init__(self, pool: asyncpg.Pool, url: str, schema: str) -> None:
        self.query_count = 0
        self._pool = pool
        self._url = url
        self._schema = schema
        self._exclusive_slots = asyncio.Semaphore(EXCLUSIVE_CONNECTIONS)

    @classmethod
    async def open(cls, url: str, *, schema: str = "", pool_size: int = 10) -> PostgresDatabase:
        """Connect a pool; `schema`, when given, is created if missing and used as search_path."""
        settings: dict[str, str] = {}
        if schema:
            if not _SCHEMA_NAME.fullmatch(schema):
                raise ValueError(f"invalid PostgreSQL schema name {schema!r}")
            conn = await asyncpg.connect(url)
            try:
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            except (asyncpg.UniqueViolationError, asyncpg.DuplicateSchemaError):
                pass  # another process created it at the same moment: IF NOT EXISTS is not atomic
            finally:
                await conn.close()
            settings["search_path"] = schema
        pool = await asyncpg.create_pool(
            url,
            min_size=1,
            max_size=pool_size,
            server_settings=settings,
            statement_cache_size=_STATEMENT_CACHE_SIZE,
            reset=_keep_session,
        )
        return cls(pool, url, schema)

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._pool.acquire() as conn:
            return await _PgConnection(conn, self).execute(sql, *args)

    async def execute_many(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        async with self.transaction() as txn:
            await txn.execute_many(sql, args)

    async def fetch_all(self, sql: str, *args: Any) -> list[Row]:
        async with self._pool.acquire() as conn:
            return await _PgConnection(conn, self).fetch_all(sql, *args)

    async def fetch_one(self, sql: str, *args: Any) -> Row | None:
        async with self._pool.acquire() as conn:
            return await _PgConnection(conn, self).fetch_one(sql, *args)

    async def fetch_val(self, sql: str, *args: Any) -> Any:
        async with self._pool.acquire() as conn:
            return await _PgConnection(conn, self).fetch_val(sql, *args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_PgConnection]:
        async with self._pool.acquire() as conn, conn.transaction():
            self.query_count += 1
            yield _PgConnection(conn, self)

    async def apply_migration(self, version: int, name: str, script: str, now_ms: int) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK_KEY)
            await conn.execute(SCHEMA_VERSION_DDL)
            if await conn.fetchval("SELECT 1 FROM schema_version WHERE version = $1", version):
                return False
            await conn.execute(script)
            await conn.execute(
                to_postgres_placeholders(RECORD_MIGRATION_SQL), version, name, now_ms
            )
            return True

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """A session-level advisory lock (EXCLUSIVE_NAMESPACE, `lease_key(schema, name)`) on a
        connection of its own: the work under it may use the whole pool (however small), and a
        process that dies releases it with its session. At most EXCLUSIVE_CONNECTIONS at once
        per process (never nested: each is taken alone)."""
        async with self._exclusive_slots:
            conn = await asyncpg.connect(
                self._url, server_settings={"application_name": lock_holder_name()}
            )
            try:
                await _advisory_lock(conn, lease_key(self._schema, name), name, self._pool)
                yield
            finally:
                await conn.close()  # ends the session, so the lock goes with it

    def pool_usage(self) -> tuple[int, int]:
        """(connections open, connections lent out) right now, for the pool metrics."""
        size = self._pool.get_size()
        return size, size - self._pool.get_idle_size()

    async def reclaim_space(self) -> None:
        """Nothing to do: autovacuum makes the deleted rows' space reusable."""

    async def close(self) -> None:
        await self._pool.close()
