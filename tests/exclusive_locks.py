"""Who waits for a `Database.exclusive` lock on PostgreSQL, seen in `pg_locks` (a session whose
advisory lock is not granted yet): how tests show that a second process's work waits."""

from __future__ import annotations

import asyncio

from bastion.store.database import Database
from bastion.store.postgres import EXCLUSIVE_NAMESPACE
from bastion.store.sql.leases import lease_key

_WAITING_SQL = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    " AND objsubid = 2 AND classid::bigint = ? AND objid::bigint = ?"
)


async def waiting_for(db: Database, schema: str, name: str) -> int:
    """How many sessions wait for lock `name`, once one does (or after about ten seconds)."""
    key = lease_key(schema, name)
    objid = key + (1 << 32) if key < 0 else key  # pg_locks shows the key as an unsigned oid
    waiting = 0
    for _ in range(500):  # bounded: at most ~10 s
        waiting = int(await db.fetch_val(_WAITING_SQL, EXCLUSIVE_NAMESPACE, objid))
        if waiting:
            break
        await asyncio.sleep(0.02)
    return waiting
