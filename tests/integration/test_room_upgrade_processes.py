"""One upgrade of a room at a time across processes (services/rooms/upgrade.py): two runtimes on
one PostgreSQL database with a Redis bus, standing for two Bastion processes behind one load
balancer. While an upgrade runs on A (held at its tombstone by a test hook), a request on B waits
for the room's lock, then finds the room upgraded meanwhile: someone else is refused with
400 M_BAD_STATE, the same user gets the new room A made. Skipped without BASTION_TEST_PG_DSN
(scripts/with-postgres) and BASTION_TEST_REDIS_URL (scripts/with-redis)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bastion.config import DatabaseConfig, RedisConfig
from bastion.services.event_hooks import EventHook
from tests.api.test_room_upgrade_safety import TombstoneGate, held_upgrade, ward
from tests.conftest import (
    FakeClock,
    Homeserver,
    errcode,
    make_config,
    start_homeserver,
)
from tests.integration.test_redis_processes import db_kind, on  # noqa: F401 (a fixture)
from tests.redis_support import redis_url


@asynccontextmanager
async def process(
    tmp_path: Path, database: DatabaseConfig, hooks: list[EventHook]
) -> AsyncIterator[Homeserver]:
    clock = FakeClock()
    config = make_config(tmp_path, database, redis=RedisConfig(url=redis_url()))
    runtime, http = await start_homeserver(config, clock, event_hooks=hooks)
    try:
        yield Homeserver(runtime, http, clock)
    finally:
        await http.aclose()
        await runtime.close()


@pytest.mark.parametrize("second", ["carol", "alice"])
async def test_an_upgrade_on_b_waits_for_the_one_on_a(
    tmp_path: Path, database_config: DatabaseConfig, second: str
) -> None:
    gate = TombstoneGate()
    async with process(tmp_path, database_config, [gate]) as a:
        alice, _bob, carol, room_id = await ward(a)
        async with process(tmp_path, database_config, []) as b:
            on_a = await held_upgrade(alice, room_id, gate)
            user = on(b, carol if second == "carol" else alice)
            on_b = asyncio.create_task(
                user.post(f"/rooms/{room_id}/upgrade", json={"new_version": "12"})
            )
            await asyncio.sleep(0.2)
            assert not on_b.done()  # waiting for the room's lock, held by A's upgrade
            gate.released.set()
            first = await asyncio.wait_for(on_a, 10)
            assert first.status_code == 200, first.text
            answer = await asyncio.wait_for(on_b, 10)
            if second == "carol":
                assert errcode(answer) == (400, "M_BAD_STATE")
            else:
                assert answer.status_code == 200, answer.text
                assert answer.json() == first.json()
            rows = await a.runtime.db.fetch_all(
                "SELECT count(*) FROM audit_log WHERE action = 'room.upgrade'"
            )
            assert rows[0][0] == 1
