"""`bastion migrate-db --to postgresql://...`: a SQLite deployment moved to PostgreSQL.

Issue #15: "`bastion migrate-db --to postgresql://...` moves a running SQLite deployment to
PostgreSQL (server stopped; every table, stream positions intact, media untouched, verified
counts)". docs/scaling.md#growing-from-sqlite-to-postgresql: "the target must be empty ...
refused while a server holds the SQLite file ... login works with the old password, /sync
continues from a token handed out before the move".

The source is always SQLite (tmp_path); the target a fresh PostgreSQL schema, so the tests that
copy need BASTION_TEST_PG_DSN (scripts/with-postgres) and skip without it.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bastion.clock import FakeClock
from bastion.config import DatabaseConfig, render_toml
from bastion.store.migrations.runner import migrate
from bastion.store.opening import open_database
from tests.api.test_keys import device_keys
from tests.conftest import PASSWORD, Homeserver, UserClient, homeserver_with, make_config, pg_dsn
from tests.integration.backup_helpers import cli


@pytest.fixture
def sqlite_db(tmp_path: Path) -> DatabaseConfig:
    return DatabaseConfig(url=f"sqlite:///{tmp_path / 'bastion.db'}")


@pytest.fixture
async def pg_schema() -> AsyncIterator[str]:
    """A schema name of its own on the test PostgreSQL server (dropped after)."""
    dsn = pg_dsn()
    if dsn is None:
        pytest.skip("BASTION_TEST_PG_DSN is not set (run under scripts/with-postgres)")
    schema = f"m_{uuid.uuid4().hex[:16]}"
    yield schema
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def config_file(tmp_path: Path, database: DatabaseConfig, name: str = "bastion.toml") -> Path:
    path = tmp_path / name
    path.write_text(render_toml(make_config(tmp_path, database)), encoding="utf-8")
    return path


async def migrate_db(config: Path, *args: str) -> tuple[int, str, str]:
    done = await cli("migrate-db", *args, "--config", config)
    return done.returncode, done.stdout, done.stderr


async def _populate(hs: Homeserver) -> dict[str, Any]:
    """Users, a room with messages and state, media, receipts, account data, tags, keys, a
    report (an identity column) and audit records (account creation by an operator)."""
    alice = await hs.register_user("alice", admin=True)
    bob = await hs.register_user("bob")
    room = await alice.create_room(name="Move", topic="to PostgreSQL")
    assert (await alice.post(f"/rooms/{room}/invite", json={"user_id": bob.user_id})).is_success
    await bob.join(room)
    first = [await alice.send_text(room, f"before the move {n}") for n in range(5)]
    await bob.send_text(room, "searchable migrate word")
    media = await alice.post("/_matrix/media/v3/upload", content=b"lab results")
    assert media.status_code == 200
    await alice.post(f"/rooms/{room}/receipt/m.read/{first[-1]}", json={})
    await alice.put(f"/user/{alice.user_id}/account_data/org.example.pref", json={"a": 1})
    await alice.put(f"/user/{alice.user_id}/rooms/{room}/tags/u.work", json={"order": 0.5})
    keys = {"device_keys": device_keys(alice), "one_time_keys": {
        "signed_curve25519:AAAA": {"key": "k1", "signatures": {}}}}  # fmt: skip
    assert (await alice.post("/keys/upload", json=keys)).status_code == 200
    report = await bob.post(f"/rooms/{room}/report/{first[0]}", json={"reason": "test"})
    assert report.status_code == 200
    since = (await bob.sync())["next_batch"]
    after = [await alice.send_text(room, f"after the token {n}") for n in range(2)]
    messages = await alice.get(f"/rooms/{room}/messages", params={"dir": "b", "limit": "50"})
    return {
        "alice": alice,
        "bob": bob,
        "room": room,
        "since": since,
        "after": after,
        "mxc": media.json()["content_uri"],
        "messages": [e["event_id"] for e in messages.json()["chunk"]],
    }


async def _check_served(hs: Homeserver, before: dict[str, Any], pg_config: Path) -> None:
    """What the moved server must serve: the same accounts, events, tokens and files."""
    old_alice: UserClient = before["alice"]
    alice = await hs.login("alice", PASSWORD)  # the old password
    bob = await hs.login("bob", PASSWORD)
    whoami = await hs.http.get(
        "/_matrix/client/v3/account/whoami", headers={"Authorization": f"Bearer {old_alice.token}"}
    )
    assert whoami.status_code == 200  # an access token from before the move still works
    room = before["room"]
    messages = await alice.get(f"/rooms/{room}/messages", params={"dir": "b", "limit": "50"})
    assert [e["event_id"] for e in messages.json()["chunk"]] == before["messages"]
    newest = await alice.send_text(room, "after the move")
    # /sync from a token handed out before the move: what came after it, once each, in order.
    sync = await bob.sync(before["since"])
    timeline = sync["rooms"]["join"][room]["timeline"]
    assert [e["event_id"] for e in timeline["events"]] == [*before["after"], newest]
    assert timeline["limited"] is False
    again = await bob.sync(sync["next_batch"])
    assert room not in again.get("rooms", {}).get("join", {})  # no repeats
    server, media_id = before["mxc"].removeprefix("mxc://").split("/")
    download = await alice.get(f"/_matrix/client/v1/media/download/{server}/{media_id}")
    assert download.content == b"lab results"  # the file untouched, its record moved
    found = await alice.post("/search", json={"search_categories": {"room_events": {
        "search_term": "migrate"}}})  # fmt: skip
    assert found.json()["search_categories"]["room_events"]["count"] == 1
    initial = await alice.sync()
    account_data = {e["type"]: e["content"] for e in initial["account_data"]["events"]}
    assert account_data["org.example.pref"] == {"a": 1}
    joined = initial["rooms"]["join"][room]
    tags = {e["type"]: e["content"] for e in joined["account_data"]["events"]}
    assert tags["m.tag"]["tags"] == {"u.work": {"order": 0.5}}
    query = await bob.post("/keys/query", json={"device_keys": {alice.user_id: []}})
    assert old_alice.device_id in query.json()["device_keys"][alice.user_id]
    report = await bob.post(f"/rooms/{room}/report/{newest}", json={"reason": "again"})
    assert report.status_code == 200  # the report identity continues after the copied ones
    verify = await cli("audit", "verify", "--config", pg_config)
    assert verify.returncode == 0, verify.stdout + verify.stderr


async def test_a_sqlite_deployment_moves_to_postgresql(
    tmp_path: Path, sqlite_db: DatabaseConfig, pg_schema: str
) -> None:
    """ "every table, stream positions intact, media untouched, verified counts"; a target
    already migrated but empty is accepted ("its schema is freshly migrated and empty")."""
    async with homeserver_with(tmp_path, sqlite_db) as hs:
        before = await _populate(hs)
    dsn = pg_dsn()
    assert dsn is not None
    target = DatabaseConfig(url=dsn, schema=pg_schema, pool_size=4)
    fresh = await open_database(dsn, schema=pg_schema, pool_size=1)
    try:
        await migrate(fresh, FakeClock().now_ms())  # `bastion migrate` run on it first
    finally:
        await fresh.close()
    code, out, err = await migrate_db(
        config_file(tmp_path, sqlite_db), "--to", dsn, "--schema", pg_schema, "--batch", "3"
    )
    assert code == 0, out + err
    assert "every count matches" in out
    assert "  events: 3/" in out  # progress, batch by batch
    counts = {line.split()[0]: line.split()[1:] for line in out.splitlines() if "  " in line}
    assert counts["users"] == ["2", "2"]
    assert f'schema = "{pg_schema}"' in out
    assert "media files stay in" in out
    async with homeserver_with(tmp_path, target) as moved:
        await _check_served(moved, before, config_file(tmp_path, target, "pg.toml"))


async def test_refuses_a_target_that_holds_data(
    tmp_path: Path, sqlite_db: DatabaseConfig, pg_schema: str
) -> None:
    """ "the target must be empty": a second move into a filled schema is refused and leaves it
    as it was."""
    async with homeserver_with(tmp_path, sqlite_db) as hs:
        await hs.register_user("alice")
    dsn = pg_dsn()
    assert dsn is not None
    config = config_file(tmp_path, sqlite_db)
    assert (await migrate_db(config, "--to", dsn, "--schema", pg_schema))[0] == 0
    code, _out, err = await migrate_db(config, "--to", dsn, "--schema", pg_schema)
    assert code == 1
    assert err.startswith("error: the target is not empty")
    conn = await asyncpg.connect(dsn, server_settings={"search_path": pg_schema})
    try:
        assert await conn.fetchval("SELECT count(*) FROM users") == 1
    finally:
        await conn.close()


async def test_refuses_a_source_a_server_holds(tmp_path: Path, sqlite_db: DatabaseConfig) -> None:
    """ "refused while a server holds the SQLite file": the server here is running (idle)."""
    config = config_file(tmp_path, sqlite_db)
    async with homeserver_with(tmp_path, sqlite_db) as hs:
        await hs.register_user("alice")
        code, _out, err = await migrate_db(config, "--to", "postgresql://127.0.0.1:1/none")
    assert code == 1
    assert "is in use" in err
    assert "stop the Bastion server" in err


async def test_refuses_bad_targets(tmp_path: Path, sqlite_db: DatabaseConfig) -> None:
    """A URL that is not PostgreSQL's, and a server that does not answer: one `error:` line."""
    async with homeserver_with(tmp_path, sqlite_db) as hs:
        await hs.register_user("alice")
    config = config_file(tmp_path, sqlite_db)
    code, _out, err = await migrate_db(config, "--to", "mysql://db/bastion")
    assert (code, err.startswith("error: --to 'mysql://db/bastion'")) == (1, True)
    code, _out, err = await migrate_db(config, "--to", "postgresql://u:secret@127.0.0.1:1/x")
    assert code == 1
    assert err.startswith("error: cannot open database postgresql://u:***@127.0.0.1:1/x")
    assert "secret" not in err
    pg_config = config_file(tmp_path, DatabaseConfig(url="postgresql://db/x"), "pg.toml")
    code, _out, err = await migrate_db(pg_config, "--to", "postgresql://db/y")
    assert code == 1
    assert "is not SQLite" in err


async def test_refuses_a_source_behind_this_version(tmp_path: Path) -> None:
    """A SQLite file an older Bastion wrote (here: no migration at all) is brought up to date by
    `bastion migrate` first; migrate-db says so instead of copying a different schema."""
    path = tmp_path / "old.db"
    sqlite3.connect(path).close()
    config = config_file(tmp_path, DatabaseConfig(url=f"sqlite:///{path}"))
    code, _out, err = await migrate_db(config, "--to", "postgresql://127.0.0.1:1/none")
    assert code == 1
    assert "run `bastion migrate`" in err
    missing = config_file(
        tmp_path, DatabaseConfig(url=f"sqlite:///{tmp_path / 'none.db'}"), "m.toml"
    )
    code, _out, err = await migrate_db(missing, "--to", "postgresql://127.0.0.1:1/none")
    assert (code, "no SQLite database at" in err) == (1, True)
