"""Contract tests for the SQL stores (bastion/store/sql/*.py), on each backend."""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg
import pytest

from bastion.store.database import Database, UniqueViolation
from bastion.store.records import DeviceRecord, ProfileRecord, TokenOwner, UserRecord
from bastion.store.sql.devices import SqlDeviceStore
from bastion.store.sql.profiles import SqlProfileStore
from bastion.store.sql.registration_tokens import SqlRegistrationTokenStore
from bastion.store.sql.uia_sessions import SqlUiaSessionStore
from bastion.store.sql.users import SqlUserStore

from .conftest import NOW

ALICE = "@alice:test.bastion"
BOB = "@bob:test.bastion"
HASH = "$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA"

users = SqlUserStore()
devices = SqlDeviceStore()
profiles = SqlProfileStore()
reg_tokens = SqlRegistrationTokenStore()
uia = SqlUiaSessionStore()


async def add_user(db: Database, user_id: str = ALICE, *, admin: bool = False) -> None:
    await users.insert_user(db, user_id, HASH, is_admin=admin, now_ms=NOW)


async def get_user(db: Database, user_id: str = ALICE) -> UserRecord:
    user = await users.get_user(db, user_id)
    assert user is not None
    return user


# --- users ---------------------------------------------------------------------------------


async def test_insert_and_get_user(db: Database) -> None:
    await users.insert_user(db, ALICE, HASH, is_admin=True, now_ms=NOW)
    assert await users.get_user(db, ALICE) == UserRecord(
        user_id=ALICE,
        password_hash=HASH,
        is_admin=True,
        is_deactivated=False,
        created_ts=NOW,
        failed_logins=0,
        locked_until_ts=0,
    )
    assert await users.get_user(db, BOB) is None


async def test_user_without_password(db: Database) -> None:
    await users.insert_user(db, BOB, None, is_admin=False, now_ms=NOW)
    user = await get_user(db, BOB)
    assert user.password_hash is None
    assert user.is_admin is False


async def test_duplicate_user_is_a_unique_violation(db: Database) -> None:
    await add_user(db)
    with pytest.raises(UniqueViolation):
        await users.insert_user(db, ALICE, None, is_admin=True, now_ms=NOW + 1)
    assert (await get_user(db)).is_admin is False


async def test_list_users_sorted_by_id(db: Database) -> None:
    assert await users.list_users(db) == []
    for user_id in ("@carol:test.bastion", BOB, ALICE):
        await add_user(db, user_id)
    assert [u.user_id for u in await users.list_users(db)] == [
        ALICE,
        BOB,
        "@carol:test.bastion",
    ]


async def test_has_active_admin(db: Database) -> None:
    assert await users.has_active_admin(db) is False
    await add_user(db, BOB)
    assert await users.has_active_admin(db) is False
    await add_user(db, ALICE, admin=True)
    assert await users.has_active_admin(db) is True

    await users.set_deactivated(db, ALICE)
    assert (await get_user(db)).is_deactivated is True
    assert await users.has_active_admin(db) is False


async def test_record_failed_login_counts_then_locks(db: Database) -> None:
    await add_user(db)
    until = NOW + 900_000
    for expected in (1, 2):
        async with db.transaction() as txn:
            count = await users.record_failed_login(txn, ALICE, lock_after=3, locked_until_ts=until)
        assert count == expected
        user = await get_user(db)
        assert (user.failed_logins, user.locked_until_ts) == (expected, 0)

    async with db.transaction() as txn:
        count = await users.record_failed_login(txn, ALICE, lock_after=3, locked_until_ts=until)
    assert count == 3
    user = await get_user(db)
    assert user.locked_until_ts == until
    assert user.failed_logins == 0  # the counter starts over after a lock


async def test_record_failed_login_outside_a_transaction(db: Database) -> None:
    await add_user(db)
    assert await users.record_failed_login(db, ALICE, lock_after=2, locked_until_ts=NOW) == 1
    assert await users.record_failed_login(db, ALICE, lock_after=2, locked_until_ts=NOW + 5) == 2
    user = await get_user(db)
    assert (user.failed_logins, user.locked_until_ts) == (0, NOW + 5)


async def test_record_failed_login_never_locks_when_disabled(db: Database) -> None:
    await add_user(db)
    for _ in range(20):
        await users.record_failed_login(db, ALICE, lock_after=0, locked_until_ts=NOW + 1)
    user = await get_user(db)
    assert (user.failed_logins, user.locked_until_ts) == (20, 0)


async def test_failures_are_per_user(db: Database) -> None:
    await add_user(db, ALICE)
    await add_user(db, BOB)
    await users.record_failed_login(db, ALICE, lock_after=1, locked_until_ts=NOW + 1)
    assert (await get_user(db, ALICE)).locked_until_ts == NOW + 1
    bob = await get_user(db, BOB)
    assert (bob.failed_logins, bob.locked_until_ts) == (0, 0)


async def test_clear_failed_logins(db: Database) -> None:
    await add_user(db)
    await users.record_failed_login(db, ALICE, lock_after=10, locked_until_ts=NOW)
    await users.record_failed_login(db, ALICE, lock_after=10, locked_until_ts=NOW)
    assert (await get_user(db)).failed_logins == 2
    await users.clear_failed_logins(db, ALICE)
    assert (await get_user(db)).failed_logins == 0


async def test_update_password_hash_clears_lockout(db: Database) -> None:
    await add_user(db)
    await users.record_failed_login(db, ALICE, lock_after=2, locked_until_ts=NOW + 60_000)
    await users.record_failed_login(db, ALICE, lock_after=2, locked_until_ts=NOW + 60_000)
    await users.record_failed_login(db, ALICE, lock_after=2, locked_until_ts=NOW + 60_000)
    before = await get_user(db)
    assert (before.failed_logins, before.locked_until_ts) == (1, NOW + 60_000)

    await users.update_password_hash(db, ALICE, "$argon2id$new")

    after = await get_user(db)
    assert after.password_hash == "$argon2id$new"
    assert (after.failed_logins, after.locked_until_ts) == (0, 0)


# --- devices and access tokens ---------------------------------------------------------------


async def test_ensure_device_creates_once_and_keeps_its_name(db: Database) -> None:
    await add_user(db)
    await devices.ensure_device(db, ALICE, "DEV1", "Laptop", NOW)
    await devices.ensure_device(db, ALICE, "DEV1", "Phone", NOW + 1000)
    await devices.ensure_device(db, ALICE, "DEV1", None, NOW + 2000)

    assert await devices.get_device(db, ALICE, "DEV1") == DeviceRecord(
        user_id=ALICE,
        device_id="DEV1",
        display_name="Laptop",
        created_ts=NOW,
        last_seen_ts=NOW,
        last_seen_ip=None,
    )
    assert len(await devices.list_devices(db, ALICE)) == 1
    assert await devices.get_device(db, ALICE, "NOPE") is None


async def test_devices_belong_to_their_user(db: Database) -> None:
    await add_user(db, ALICE)
    await add_user(db, BOB)
    await devices.ensure_device(db, ALICE, "SAME", "alice's", NOW)
    await devices.ensure_device(db, BOB, "SAME", "bob's", NOW)
    await devices.ensure_device(db, ALICE, "A2", None, NOW)

    assert [d.device_id for d in await devices.list_devices(db, ALICE)] == ["A2", "SAME"]
    bob_device = await devices.get_device(db, BOB, "SAME")
    assert bob_device is not None
    assert bob_device.display_name == "bob's"
    assert await devices.get_device(db, BOB, "A2") is None


async def test_set_display_name_and_touch(db: Database) -> None:
    await add_user(db)
    await devices.ensure_device(db, ALICE, "DEV1", None, NOW)
    assert await devices.set_display_name(db, ALICE, "DEV1", "Desk") is True
    assert await devices.set_display_name(db, ALICE, "MISSING", "x") is False
    await devices.touch_device(db, ALICE, "DEV1", NOW + 42, "203.0.113.7")

    device = await devices.get_device(db, ALICE, "DEV1")
    assert device is not None
    assert (device.display_name, device.last_seen_ts, device.last_seen_ip) == (
        "Desk",
        NOW + 42,
        "203.0.113.7",
    )
    assert await devices.set_display_name(db, ALICE, "DEV1", None) is True
    cleared = await devices.get_device(db, ALICE, "DEV1")
    assert cleared is not None
    assert cleared.display_name is None


async def test_find_token_owner_joins_user_flags(db: Database) -> None:
    await add_user(db, admin=True)
    await devices.ensure_device(db, ALICE, "DEV1", None, NOW)
    await devices.insert_token(db, "hash-1", ALICE, "DEV1", NOW)
    await devices.touch_device(db, ALICE, "DEV1", NOW + 7, None)

    assert await devices.find_token_owner(db, "hash-1") == TokenOwner(
        user_id=ALICE, device_id="DEV1", is_admin=True, is_deactivated=False, last_seen_ts=NOW + 7
    )
    assert await devices.find_token_owner(db, "hash-unknown") is None

    await users.set_deactivated(db, ALICE)
    owner = await devices.find_token_owner(db, "hash-1")
    assert owner is not None
    assert owner.is_deactivated is True


async def test_token_needs_an_existing_device(db: Database) -> None:
    await add_user(db)
    # Only unique keys are promised a portable exception; this is the driver's own.
    with pytest.raises((sqlite3.IntegrityError, asyncpg.ForeignKeyViolationError)):
        await devices.insert_token(db, "orphan", ALICE, "NO-SUCH-DEVICE", NOW)
    assert await devices.find_token_owner(db, "orphan") is None


async def test_duplicate_token_hash_is_a_unique_violation(db: Database) -> None:
    await add_user(db)
    await devices.ensure_device(db, ALICE, "DEV1", None, NOW)
    await devices.ensure_device(db, ALICE, "DEV2", None, NOW)
    await devices.insert_token(db, "same-hash", ALICE, "DEV1", NOW)
    with pytest.raises(UniqueViolation):
        await devices.insert_token(db, "same-hash", ALICE, "DEV2", NOW)


async def test_deleting_a_device_deletes_its_tokens(db: Database) -> None:
    await add_user(db)
    for device_id in ("DEV1", "DEV2"):
        await devices.ensure_device(db, ALICE, device_id, None, NOW)
    await devices.insert_token(db, "h1a", ALICE, "DEV1", NOW)
    await devices.insert_token(db, "h1b", ALICE, "DEV1", NOW)
    await devices.insert_token(db, "h2", ALICE, "DEV2", NOW)

    async with db.transaction() as txn:
        await devices.delete_devices(txn, ALICE, ["DEV1"])

    assert await devices.get_device(db, ALICE, "DEV1") is None
    assert await devices.find_token_owner(db, "h1a") is None
    assert await devices.find_token_owner(db, "h1b") is None
    assert await db.fetch_val("SELECT COUNT(*) FROM access_tokens WHERE device_id = ?", "DEV1") == 0
    owner = await devices.find_token_owner(db, "h2")
    assert owner is not None
    assert owner.device_id == "DEV2"


async def test_delete_devices_on_the_database_and_with_no_ids(db: Database) -> None:
    await add_user(db)
    for device_id in ("DEV1", "DEV2", "DEV3"):
        await devices.ensure_device(db, ALICE, device_id, None, NOW)
    await devices.delete_devices(db, ALICE, [])
    assert len(await devices.list_devices(db, ALICE)) == 3
    await devices.delete_devices(db, ALICE, ["DEV1", "DEV3", "UNKNOWN"])
    assert [d.device_id for d in await devices.list_devices(db, ALICE)] == ["DEV2"]


async def test_delete_device_tokens_keeps_the_device(db: Database) -> None:
    await add_user(db)
    await devices.ensure_device(db, ALICE, "DEV1", None, NOW)
    await devices.insert_token(db, "h1", ALICE, "DEV1", NOW)
    await devices.delete_device_tokens(db, ALICE, "DEV1")
    assert await devices.find_token_owner(db, "h1") is None
    assert await devices.get_device(db, ALICE, "DEV1") is not None


async def test_delete_all_devices_keeping_one(db: Database) -> None:
    await add_user(db, ALICE)
    await add_user(db, BOB)
    for device_id in ("DEV1", "DEV2", "DEV3"):
        await devices.ensure_device(db, ALICE, device_id, None, NOW)
        await devices.insert_token(db, f"h-{device_id}", ALICE, device_id, NOW)
    await devices.ensure_device(db, BOB, "DEV1", None, NOW)

    await devices.delete_all_devices(db, ALICE, keep_device_id="DEV2")

    assert [d.device_id for d in await devices.list_devices(db, ALICE)] == ["DEV2"]
    assert await devices.find_token_owner(db, "h-DEV1") is None
    assert await devices.find_token_owner(db, "h-DEV2") is not None
    assert await devices.find_token_owner(db, "h-DEV3") is None
    assert [d.device_id for d in await devices.list_devices(db, BOB)] == ["DEV1"]


async def test_delete_all_devices(db: Database) -> None:
    await add_user(db, ALICE)
    await add_user(db, BOB)
    for device_id in ("DEV1", "DEV2"):
        await devices.ensure_device(db, ALICE, device_id, None, NOW)
        await devices.insert_token(db, f"h-{device_id}", ALICE, device_id, NOW)
    await devices.ensure_device(db, BOB, "DEV1", None, NOW)

    await devices.delete_all_devices(db, ALICE)

    assert await devices.list_devices(db, ALICE) == []
    assert await db.fetch_val("SELECT COUNT(*) FROM access_tokens") == 0
    assert len(await devices.list_devices(db, BOB)) == 1


# --- profiles --------------------------------------------------------------------------------


async def test_profile_fields_are_set_independently(db: Database) -> None:
    await add_user(db)
    assert await profiles.get_profile(db, ALICE) is None

    await profiles.set_displayname(db, ALICE, "Alice")
    assert await profiles.get_profile(db, ALICE) == ProfileRecord("Alice", None)

    await profiles.set_avatar_url(db, ALICE, "mxc://test.bastion/abc")
    assert await profiles.get_profile(db, ALICE) == ProfileRecord("Alice", "mxc://test.bastion/abc")

    await profiles.set_displayname(db, ALICE, "Alice L.")
    assert await profiles.get_profile(db, ALICE) == ProfileRecord(
        "Alice L.", "mxc://test.bastion/abc"
    )

    await profiles.set_displayname(db, ALICE, None)
    assert await profiles.get_profile(db, ALICE) == ProfileRecord(None, "mxc://test.bastion/abc")


async def test_avatar_first_then_displayname(db: Database) -> None:
    await add_user(db, ALICE)
    await add_user(db, BOB)
    await profiles.set_avatar_url(db, ALICE, "mxc://test.bastion/a")
    await profiles.set_displayname(db, ALICE, "Alice")
    await profiles.set_displayname(db, BOB, "Bob")
    assert await profiles.get_profile(db, ALICE) == ProfileRecord("Alice", "mxc://test.bastion/a")
    assert await profiles.get_profile(db, BOB) == ProfileRecord("Bob", None)


# --- registration tokens -------------------------------------------------------------------


async def test_registration_token_round_trip(db: Database) -> None:
    await reg_tokens.insert_token(db, "tok", 3, NOW + 1000, NOW)
    record = await reg_tokens.get_token(db, "tok")
    assert record is not None
    assert (record.token, record.uses_allowed, record.completed, record.expiry_ts) == (
        "tok",
        3,
        0,
        NOW + 1000,
    )
    assert record.created_ts == NOW
    assert await reg_tokens.get_token(db, "other") is None


async def test_list_tokens_in_creation_order(db: Database) -> None:
    await reg_tokens.insert_token(db, "b", None, None, NOW)
    await reg_tokens.insert_token(db, "a", None, None, NOW + 1)
    await reg_tokens.insert_token(db, "c", None, None, NOW + 2)
    assert [t.token for t in await reg_tokens.list_tokens(db)] == ["b", "a", "c"]


async def test_consume_token_respects_uses_allowed(db: Database) -> None:
    await reg_tokens.insert_token(db, "three", 3, None, NOW)
    results = [await reg_tokens.consume_token(db, "three", NOW) for _ in range(5)]
    assert results == [True, True, True, False, False]
    record = await reg_tokens.get_token(db, "three")
    assert record is not None
    assert record.completed == 3


async def test_concurrent_consumption_never_exceeds_uses_allowed(db: Database) -> None:
    await reg_tokens.insert_token(db, "three", 3, None, NOW)

    async def consume() -> bool:
        async with db.transaction() as txn:
            return await reg_tokens.consume_token(txn, "three", NOW)

    results = await asyncio.gather(*(consume() for _ in range(12)))
    assert results.count(True) == 3
    record = await reg_tokens.get_token(db, "three")
    assert record is not None
    assert record.completed == 3


async def test_unlimited_token(db: Database) -> None:
    await reg_tokens.insert_token(db, "many", None, None, NOW)
    for _ in range(25):
        assert await reg_tokens.consume_token(db, "many", NOW)
    record = await reg_tokens.get_token(db, "many")
    assert record is not None
    assert record.completed == 25


async def test_zero_use_token_is_never_valid(db: Database) -> None:
    await reg_tokens.insert_token(db, "zero", 0, None, NOW)
    assert await reg_tokens.consume_token(db, "zero", NOW) is False


async def test_consume_token_respects_expiry(db: Database) -> None:
    await reg_tokens.insert_token(db, "soon", None, NOW + 1000, NOW)
    assert await reg_tokens.consume_token(db, "soon", NOW + 999) is True
    assert await reg_tokens.consume_token(db, "soon", NOW + 1000) is False  # expiry is exclusive
    assert await reg_tokens.consume_token(db, "soon", NOW + 5000) is False
    record = await reg_tokens.get_token(db, "soon")
    assert record is not None
    assert record.completed == 1


async def test_consume_unknown_token(db: Database) -> None:
    assert await reg_tokens.consume_token(db, "nope", NOW) is False


async def test_delete_token(db: Database) -> None:
    await reg_tokens.insert_token(db, "tok", None, None, NOW)
    assert await reg_tokens.delete_token(db, "unknown") is False
    assert await reg_tokens.delete_token(db, "tok") is True
    assert await reg_tokens.get_token(db, "tok") is None
    assert await reg_tokens.delete_token(db, "tok") is False
    assert await reg_tokens.consume_token(db, "tok", NOW) is False


async def test_duplicate_registration_token(db: Database) -> None:
    await reg_tokens.insert_token(db, "tok", None, None, NOW)
    with pytest.raises(UniqueViolation):
        await reg_tokens.insert_token(db, "tok", 1, None, NOW)


# --- UIA sessions ----------------------------------------------------------------------------


async def test_uia_session_exists_until_deleted(db: Database) -> None:
    await uia.insert_session(db, "sess", NOW)
    assert await uia.session_exists(db, "sess", created_after_ms=NOW - 1) is True
    assert await uia.session_exists(db, "other", created_after_ms=NOW - 1) is False
    await uia.delete_session(db, "sess")
    assert await uia.session_exists(db, "sess", created_after_ms=0) is False
    await uia.delete_session(db, "sess")  # deleting twice is harmless


async def test_uia_session_expires(db: Database) -> None:
    await uia.insert_session(db, "sess", NOW)
    assert await uia.session_exists(db, "sess", created_after_ms=NOW - 1) is True
    assert await uia.session_exists(db, "sess", created_after_ms=NOW) is False
    assert await uia.session_exists(db, "sess", created_after_ms=NOW + 60_000) is False


async def test_delete_sessions_before(db: Database) -> None:
    await uia.insert_session(db, "old", NOW - 10_000)
    await uia.insert_session(db, "edge", NOW)
    await uia.insert_session(db, "new", NOW + 10_000)
    await uia.delete_sessions_before(db, NOW)
    assert await uia.session_exists(db, "old", 0) is False
    assert await uia.session_exists(db, "edge", 0) is True
    assert await uia.session_exists(db, "new", 0) is True


async def test_duplicate_uia_session(db: Database) -> None:
    await uia.insert_session(db, "sess", NOW)
    with pytest.raises(UniqueViolation):
        await uia.insert_session(db, "sess", NOW)


async def test_record_failed_login_for_unknown_user_is_a_no_op(db: Database) -> None:
    async with db.transaction() as txn:
        count = await SqlUserStore().record_failed_login(
            txn, "@ghost:test", lock_after=3, locked_until_ts=NOW
        )
    assert count == 0


async def test_foreign_key_errors_are_not_unique_violations(db: Database) -> None:
    """A device for an unknown user breaks a foreign key, not a unique key."""
    with pytest.raises((sqlite3.IntegrityError, asyncpg.ForeignKeyViolationError)):
        await db.execute_many(
            "INSERT INTO devices (user_id, device_id, created_ts) VALUES (?, ?, ?)",
            [("@ghost:test", "D1", NOW)],
        )
