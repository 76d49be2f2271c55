"""The Database seam behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from bastion.store.database import Database, UniqueViolation

from .conftest import NOW

INSERT_TOKEN = (
    "INSERT INTO registration_tokens (token, uses_allowed, expiry_ts, created_ts)"
    " VALUES (?, ?, ?, ?)"
)


async def token_exists(db: Database, token: str) -> bool:
    value = await db.fetch_val("SELECT 1 FROM registration_tokens WHERE token = ?", token)
    return bool(value == 1)


async def test_transaction_commits_on_normal_exit(db: Database) -> None:
    async with db.transaction() as txn:
        await txn.execute(INSERT_TOKEN, "a", None, None, NOW)
        await txn.execute(INSERT_TOKEN, "b", 3, None, NOW)
        # Inside the transaction its own writes are visible.
        assert await txn.fetch_val("SELECT COUNT(*) FROM registration_tokens") == 2
    assert await token_exists(db, "a")
    assert await token_exists(db, "b")


async def test_transaction_rolls_back_on_exception(db: Database) -> None:
    class Boom(Exception):
        pass

    async def insert_then_fail() -> None:
        async with db.transaction() as txn:
            await txn.execute(INSERT_TOKEN, "doomed", None, None, NOW)
            raise Boom

    with pytest.raises(Boom):
        await insert_then_fail()
    assert not await token_exists(db, "doomed")
    assert await db.fetch_val("SELECT COUNT(*) FROM registration_tokens") == 0

    # The database is usable afterwards.
    async with db.transaction() as txn:
        await txn.execute(INSERT_TOKEN, "next", None, None, NOW)
    assert await token_exists(db, "next")


async def test_unique_violation_on_duplicate_primary_key(db: Database) -> None:
    await db.execute(INSERT_TOKEN, "dup", None, None, NOW)
    with pytest.raises(UniqueViolation):
        await db.execute(INSERT_TOKEN, "dup", 5, None, NOW + 1)
    row = await db.fetch_one("SELECT uses_allowed, created_ts FROM registration_tokens")
    assert row is not None
    assert (row["uses_allowed"], row["created_ts"]) == (None, NOW)


async def test_unique_violation_rolls_back_the_whole_transaction(db: Database) -> None:
    await db.execute(INSERT_TOKEN, "dup", None, None, NOW)

    async def insert_fresh_then_dup() -> None:
        async with db.transaction() as txn:
            await txn.execute(INSERT_TOKEN, "fresh", None, None, NOW)
            await txn.execute(INSERT_TOKEN, "dup", None, None, NOW)

    with pytest.raises(UniqueViolation):
        await insert_fresh_then_dup()
    assert not await token_exists(db, "fresh")
    assert await db.execute(INSERT_TOKEN, "fresh", None, None, NOW) == 1


async def test_unique_violation_from_execute_many(db: Database) -> None:
    with pytest.raises(UniqueViolation):
        await db.execute_many(
            INSERT_TOKEN, [("x", None, None, NOW), ("y", None, None, NOW), ("x", None, None, NOW)]
        )
    assert not await token_exists(db, "x")  # execute_many on the database is one transaction


async def test_execute_many_inserts_every_row(db: Database) -> None:
    await db.execute_many(INSERT_TOKEN, [(f"t{i}", i, None, NOW) for i in range(5)])
    rows = await db.fetch_all("SELECT token, uses_allowed FROM registration_tokens ORDER BY token")
    assert [(r["token"], r["uses_allowed"]) for r in rows] == [(f"t{i}", i) for i in range(5)]


async def test_fetch_val_and_fetch_one_return_none_for_no_row(db: Database) -> None:
    assert await db.fetch_val("SELECT token FROM registration_tokens WHERE token = ?", "x") is None
    assert await db.fetch_one("SELECT token FROM registration_tokens WHERE token = ?", "x") is None
    assert await db.fetch_all("SELECT token FROM registration_tokens") == []
    async with db.transaction() as txn:
        assert await txn.fetch_val("SELECT 1 FROM registration_tokens") is None
        assert await txn.fetch_one("SELECT 1 FROM registration_tokens") is None


async def test_rows_by_name_and_position(db: Database) -> None:
    await db.execute(INSERT_TOKEN, "t", 4, NOW + 5, NOW)
    row = await db.fetch_one(
        "SELECT token, uses_allowed, expiry_ts FROM registration_tokens WHERE token = ?", "t"
    )
    assert row is not None
    assert (row["token"], row["uses_allowed"], row["expiry_ts"]) == ("t", 4, NOW + 5)
    assert (row[0], row[1], row[2]) == ("t", 4, NOW + 5)
    assert await db.fetch_val("SELECT expiry_ts FROM registration_tokens") == NOW + 5


async def test_execute_returns_changed_row_count(db: Database) -> None:
    assert await db.execute(INSERT_TOKEN, "a", None, None, NOW) == 1
    await db.execute(INSERT_TOKEN, "b", None, None, NOW)
    await db.execute(INSERT_TOKEN, "c", None, NOW, NOW)

    assert await db.execute("UPDATE registration_tokens SET completed = completed + 1") == 3
    assert (
        await db.execute("UPDATE registration_tokens SET completed = 0 WHERE expiry_ts IS NULL")
        == 2
    )
    assert await db.execute("DELETE FROM registration_tokens WHERE token = ?", "zzz") == 0
    async with db.transaction() as txn:
        assert await txn.execute("DELETE FROM registration_tokens WHERE token <> ?", "a") == 2
    assert await db.fetch_val("SELECT COUNT(*) FROM registration_tokens") == 1


async def test_query_count_counts_statements(db: Database) -> None:
    before = db.query_count
    await db.fetch_val("SELECT 1")
    assert db.query_count == before + 1
    await db.fetch_all("SELECT 1")
    await db.fetch_one("SELECT 1")
    assert db.query_count == before + 3

    mid = db.query_count
    await db.execute(INSERT_TOKEN, "a", None, None, NOW)
    assert db.query_count > mid

    mid = db.query_count
    async with db.transaction() as txn:
        await txn.execute(INSERT_TOKEN, "b", None, None, NOW)
        await txn.fetch_val("SELECT 1")
    assert db.query_count >= mid + 2
