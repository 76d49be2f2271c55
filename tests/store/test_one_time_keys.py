"""One-time key storage (bastion/store/sql/keys.py) on each backend: claims follow upload order
(spec v1.13, MSC4225), a key is handed out at most once even to racing claims, and keys stored
before migration 0033 keep the order they were claimed in until then."""

from __future__ import annotations

import asyncio

from bastion.store.database import Database
from bastion.store.migrations.runner import migrate, migrations_for
from bastion.store.sql.keys import SqlKeyStore

from .conftest import NOW

ALICE = "@alice:test.bastion"
DEVICE = "PHONE"
ALG = "signed_curve25519"

keys = SqlKeyStore()


async def upload(db: Database, *key_ids: str) -> None:
    """One `/keys/upload` call's worth of keys, in the order given."""
    async with db.transaction() as t:
        await keys.add_one_time_keys(t, ALICE, DEVICE, [(ALG, k, {"key": k}) for k in key_ids])


async def claim(db: Database) -> str | None:
    async with db.transaction() as t:
        found = await keys.claim_one_time_key(t, ALICE, DEVICE, ALG)
    if found is None:
        return None
    assert found[1] == {"key": found[0]}
    return found[0]


async def test_claims_follow_upload_order_not_key_ids(db: Database) -> None:
    """POST /keys/claim: "One-time keys are given out in the order that they were uploaded"."""
    await upload(db, "ZZ", "MM")
    await upload(db, "AA")
    assert await claim(db) == "ZZ"
    await upload(db, "AB")
    assert [await claim(db) for _ in range(4)] == ["MM", "AA", "AB", None]


async def test_a_racing_claim_never_gets_the_same_key(db: Database) -> None:
    """POST /keys/claim: "Servers must ensure that each one-time key is returned at most once".
    A second claim starts while the first has taken the oldest key but not yet committed; on
    PostgreSQL it waits on that row (checked in pg_stat_activity), on SQLite on the write lock.
    It never gets that key, and it gets the next one rather than nothing (PostgreSQL: its pick
    was gone, so it picks again; else the client would be handed the fallback key while
    one-time keys are left)."""
    await upload(db, "K1", "K2")
    async with db.transaction() as first:
        won = await keys.claim_one_time_key(first, ALICE, DEVICE, ALG)
        assert won == ("K1", {"key": "K1"})
        racing = asyncio.create_task(claim(db))
        for _ in range(1000):
            await asyncio.sleep(0.01)
            if db.dialect == "sqlite" or await _claims_waiting(db):
                break
        else:
            raise AssertionError("the racing claim never reached the database")
        assert not racing.done()
    assert await racing == "K2"
    assert await claim(db) is None


async def _claims_waiting(db: Database) -> bool:
    waiting = await db.fetch_val(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        " AND query LIKE 'DELETE FROM one_time_keys%'"
    )
    return bool(waiting)


async def test_keys_stored_before_upload_order_keep_key_id_order(empty_db: Database) -> None:
    """Keys stored before migration 0033 have no upload order; they keep being handed out by
    key ID, as they were then, and before anything uploaded after the upgrade."""
    for migration in migrations_for(empty_db.dialect):
        if migration.version >= 33:
            break
        await empty_db.apply_migration(migration.version, migration.name, migration.sql, NOW)
    await empty_db.execute_many(
        "INSERT INTO one_time_keys (user_id, device_id, algorithm, key_id, key_json)"
        " VALUES (?, ?, ?, ?, ?)",
        [(ALICE, DEVICE, ALG, k, f'{{"key": "{k}"}}') for k in ("OLD2", "OLD1")],
    )
    await migrate(empty_db, NOW)
    await upload(empty_db, "NEW0")
    assert [await claim(empty_db) for _ in range(4)] == ["OLD1", "OLD2", "NEW0", None]
