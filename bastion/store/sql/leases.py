"""Worker leases (protocols/leases.py) as PostgreSQL advisory locks.

`PostgresLeases` holds every lease of the process on ONE connection of its own (not the pool's,
whose connections come and go): `pg_try_advisory_lock(namespace, key)` is session-level, so the
server drops the lock when that session ends, whatever ended it. The key is a CRC-32 of the
schema and the lease name in the two-integer key space (the migration lock uses the one-bigint
space, so they never collide). Statements on the connection are serialised by an asyncio lock
(an asyncpg connection runs one at a time).

Losing the connection loses every lease at once: `hold` notices (the connection is closed or
`SELECT 1` fails), forgets them all, and reconnects to try again; the process that took a lease
over meanwhile keeps it.

SQLite has none: one process serves the database, and its workers run without leases
(app/leases.py).
"""

from __future__ import annotations

import asyncio
import logging
import zlib

import asyncpg

log = logging.getLogger(__name__)

_NAMESPACE = 0x62617374  # "bast", first half of every lease key
_LOST_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


def lease_key(schema: str, name: str) -> int:
    """The second half of lease `name`'s key in `schema`: a signed 32-bit integer."""
    digest = zlib.crc32(f"{schema}\x00{name}".encode())
    return digest - (1 << 32) if digest >= 1 << 31 else digest


class PostgresLeases:
    """Leases as session-level advisory locks on a connection of their own."""

    def __init__(self, url: str, *, schema: str = "") -> None:
        self._url = url
        self._schema = schema
        self._conn: asyncpg.Connection | None = None
        self._held: set[str] = set()
        self._lock = asyncio.Lock()

    async def hold(self, name: str) -> bool:
        async with self._lock:
            try:
                conn = await self._connection()
                if name in self._held:
                    return True
                key = lease_key(self._schema, name)
                taken = bool(
                    await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", _NAMESPACE, key)
                )
            except _LOST_ERRORS as exc:
                log.warning("worker leases: connection lost (%s); leases given up", exc)
                await self._drop()
                return False
            if taken:
                self._held.add(name)
            return taken

    async def release(self, name: str) -> None:
        async with self._lock:
            if name not in self._held or self._conn is None:
                return
            self._held.discard(name)
            key = lease_key(self._schema, name)
            try:
                await self._conn.execute("SELECT pg_advisory_unlock($1, $2)", _NAMESPACE, key)
            except _LOST_ERRORS:
                await self._drop()  # the lock went with the session

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    async def _connection(self) -> asyncpg.Connection:
        """The lease connection, checked alive; a new one (holding nothing) if it was lost."""
        conn = self._conn
        if conn is not None and not conn.is_closed():
            await conn.fetchval("SELECT 1")  # raises if the session is gone
            return conn
        if self._held:
            log.warning("worker leases: connection lost; leases given up: %s", sorted(self._held))
            self._held.clear()
        self._conn = await asyncpg.connect(self._url)
        return self._conn

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._held.clear()
        if conn is not None and not conn.is_closed():
            try:
                await conn.close(timeout=5)
            except _LOST_ERRORS:
                conn.terminate()
