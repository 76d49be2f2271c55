"""Concurrent sends right after a restart, with every cache cold, never exhaust the pool.

Inside a send's transaction the caches it needs (room members, push rulesets, ignored users)
are filled through that transaction's connection. Were a fill to take a second connection from
the pool, `pool_size` concurrent sends would each hold one connection and wait for another
forever (PostgreSQL; SQLite has one writer and ignores `pool_size`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec

from bastion.config import DatabaseConfig
from tests.conftest import UserClient, homeserver_with

POOL_SIZE = 2
ROOMS = 3 * POOL_SIZE  # more sends than connections


async def test_concurrent_sends_after_a_restart_all_succeed(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    database = msgspec.structs.replace(database_config, pool_size=POOL_SIZE)
    async with homeserver_with(tmp_path, database) as hs:
        alice = await hs.register_user("alice")
        bob = await hs.register_user("bob")
        rooms = [await alice.create_room(preset="public_chat") for _ in range(ROOMS)]
        for room_id in rooms:
            await bob.join(room_id)
        # Bob has his own rules and an ignore list, so every cache has something to read.
        resp = await bob.put(
            "/pushrules/global/content/urgent", json={"pattern": "urgent", "actions": ["notify"]}
        )
        assert resp.status_code == 200
        resp = await bob.put(
            f"/user/{bob.user_id}/account_data/m.ignored_user_list",
            json={"ignored_users": {"@mallory:test.bastion": {}}},
        )
        assert resp.status_code == 200
    async with homeserver_with(tmp_path, database) as restarted:  # every cache is cold
        alice = UserClient(restarted.http, alice.user_id, alice.device_id, alice.token)
        sends = [alice.send_text(room_id, f"urgent {i}") for i, room_id in enumerate(rooms)]
        # Bounded: a pool deadlock fails the test instead of hanging it.
        event_ids = await asyncio.wait_for(asyncio.gather(*sends), timeout=30)
        assert len(set(event_ids)) == ROOMS
        bob = UserClient(restarted.http, bob.user_id, bob.device_id, bob.token)
        sync = await bob.sync()
        for room_id in rooms:
            room = sync["rooms"]["join"][room_id]
            assert room["unread_notifications"]["notification_count"] == 1
