"""A stream writer's life line: a session-level advisory lock on a connection of its own.

PostgreSQL drops a session's advisory locks as soon as the session ends, however it ends (the
process killed, its host gone): the other writers see a dead writer's life line gone at their
next heartbeat, long before its lease would run out (store/shared_stream.py). The lock's key is
(`NAMESPACE`, a random 31-bit number chosen at start, another one if taken), kept in the
writer's row; `ATTACHED_SQL` is the clause that tells a reader whether it is held.
"""

from __future__ import annotations

import logging
import secrets

import asyncpg

log = logging.getLogger(__name__)

NAMESPACE = 0x62737477  # "bstw": not the worker leases' namespace (store/sql/leases.py)
_LOST_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


# True when the life line whose key is in column `lifeline_key` is held in this database.
ATTACHED_SQL = (
    "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted"  # noqa: S608 - constants
    f" AND l.classid::bigint = {NAMESPACE} AND l.objid::bigint = lifeline_key"
    " AND l.objsubid = 2"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))"
)


class Lifeline:
    """The held lock and its connection."""

    def __init__(self, conn: asyncpg.Connection, key: int) -> None:
        self._conn = conn
        self.key = key

    @classmethod
    async def open(cls, url: str) -> Lifeline:
        """Connect and take a free key."""
        conn = await asyncpg.connect(url)
        try:
            while True:
                key = secrets.randbelow(2**31 - 1) + 1
                if await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", NAMESPACE, key):
                    return cls(conn, key)
        except BaseException:
            await conn.close()
            raise

    async def is_held(self) -> bool:
        """Whether the session (so the lock) is still there."""
        if self._conn.is_closed():
            return False
        try:
            await self._conn.fetchval("SELECT 1")
        except _LOST_ERRORS as exc:
            log.error("stream writer life line lost: %s", exc)
            return False
        return True

    async def close(self) -> None:
        """End the session: the lock goes with it."""
        try:
            await self._conn.close()
        except _LOST_ERRORS:
            self._conn.terminate()
