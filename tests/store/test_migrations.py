"""The migration runner against real databases."""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg
import pytest

from bastion.config import DatabaseConfig
from bastion.store.database import Database
from bastion.store.migrations.runner import (
    current_version,
    latest_version,
    migrate,
    migrations_for,
)

from .conftest import NOW, open_db

EXPECTED_COLUMNS = {
    "users": {
        "user_id",
        "password_hash",
        "is_admin",
        "is_deactivated",
        "created_ts",
        "failed_logins",
        "locked_until_ts",
        "manager",
        "admin_locked",
        "suspended",
        "shadow_banned",
        "ratelimit_per_second",
        "ratelimit_burst",
    },
    "openid_tokens": {"token_hash", "user_id", "expires_ts"},
    "profile_fields": {"user_id", "field_name", "value_json"},
    "appservice_room_directory": {"appservice_id", "network_id", "room_id", "published_ts"},
    "sso_sessions": {
        "state_hash",
        "browser_hash",
        "idp_id",
        "redirect_url",
        "created_ts",
        "uia_session",
    },
    "sso_reauths": {"uia_session", "user_id", "completed_ts"},
    "sso_login_tokens": {"token_hash", "user_id", "idp_id", "expires_ts"},
    "sso_identities": {"idp_id", "subject", "user_id", "created_ts"},
    "one_time_keys": {"user_id", "device_id", "algorithm", "key_id", "key_json", "upload_order"},
    "appservice_streams": {
        "appservice_id",
        "done_upto",
        "txn_id",
        "pending_upto",
        "pending_events",
        "pending_ephemeral",
        "failing_since_ms",
        "last_error",
    },
    "profiles": {"user_id", "displayname", "avatar_url"},
    "devices": {
        "user_id",
        "device_id",
        "display_name",
        "created_ts",
        "last_seen_ts",
        "last_seen_ip",
    },
    "access_tokens": {"token_hash", "user_id", "device_id", "created_ts"},
    "registration_tokens": {"token", "uses_allowed", "completed", "expiry_ts", "created_ts"},
    "uia_sessions": {"session_id", "created_ts", "action"},
    "schema_version": {"version", "name", "applied_ts"},
}


async def tables(db: Database) -> set[str]:
    if db.dialect == "sqlite":
        rows = await db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = await db.fetch_all(
            "SELECT table_name AS name FROM information_schema.tables"
            " WHERE table_schema = current_schema()"
        )
    return {row["name"] for row in rows}


async def columns(db: Database, table: str) -> set[str]:
    if db.dialect == "sqlite":
        rows = await db.fetch_all(f"PRAGMA table_info({table})")
    else:
        rows = await db.fetch_all(
            "SELECT column_name AS name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ?",
            table,
        )
    return {row["name"] for row in rows}


async def recorded_versions(db: Database) -> list[int]:
    rows = await db.fetch_all("SELECT version FROM schema_version ORDER BY version")
    return [row["version"] for row in rows]


async def test_empty_database_is_at_version_zero(empty_db: Database) -> None:
    assert await current_version(empty_db) == 0
    assert await tables(empty_db) == set()


async def test_migrate_applies_every_version_once(empty_db: Database) -> None:
    expected = [m.version for m in migrations_for(empty_db.dialect)]

    assert await migrate(empty_db, NOW) == expected
    assert await recorded_versions(empty_db) == expected
    assert await current_version(empty_db) == latest_version(empty_db.dialect)

    assert await migrate(empty_db, NOW + 1) == []
    assert await recorded_versions(empty_db) == expected
    assert await current_version(empty_db) == latest_version(empty_db.dialect)


async def test_schema_version_records_name_and_time(empty_db: Database) -> None:
    await migrate(empty_db, NOW)
    rows = await empty_db.fetch_all(
        "SELECT version, name, applied_ts FROM schema_version ORDER BY version"
    )
    expected = [(m.version, m.name, NOW) for m in migrations_for(empty_db.dialect)]
    assert [(r["version"], r["name"], r["applied_ts"]) for r in rows] == expected


async def test_tables_and_columns_exist(db: Database) -> None:
    assert set(EXPECTED_COLUMNS) <= await tables(db)
    for table, expected in EXPECTED_COLUMNS.items():
        assert await columns(db, table) == expected, table


async def test_concurrent_migrations_apply_each_version_once(
    database_config: DatabaseConfig,
) -> None:
    first = await open_db(database_config)
    # One SQLite file is served by one process (one Database); PostgreSQL may have several.
    second = first if first.dialect == "sqlite" else await open_db(database_config)
    try:
        results = await asyncio.gather(migrate(first, NOW), migrate(second, NOW))
        expected = [m.version for m in migrations_for(first.dialect)]
        assert sorted(v for applied in results for v in applied) == expected
        assert await recorded_versions(first) == expected
        assert await current_version(second) == latest_version(first.dialect)
        assert set(EXPECTED_COLUMNS) <= await tables(second)
    finally:
        if second is not first:
            await second.close()
        await first.close()


async def test_failed_migration_leaves_nothing_behind(db: Database) -> None:
    version = latest_version(db.dialect) + 1000
    broken = "CREATE TABLE half_done (x INTEGER);\nCREATE TABLE half_done (x INTEGER);"

    with pytest.raises((sqlite3.Error, asyncpg.PostgresError)):
        await db.apply_migration(version, "break_things", broken, NOW)

    assert "half_done" not in await tables(db)
    assert version not in await recorded_versions(db)
    assert await current_version(db) == latest_version(db.dialect)
    # The database is still usable afterwards.
    assert await db.apply_migration(version, "add_thing", "CREATE TABLE thing (x INTEGER);", NOW)
    after = await tables(db)
    assert "thing" in after
    assert "half_done" not in after  # not committed later by the next migration either
    assert not await db.apply_migration(
        version, "add_thing", "CREATE TABLE thing (x INTEGER);", NOW
    )
