"""Two runtimes on one PostgreSQL database, each with its own Redis bus, standing for two
Bastion processes behind one load balancer (issue #15: "a send on A wakes a sync on B; typing
[...] cross; a user offboarded on A gets 401 on a sync parked on B").

Everything a test needs in the database is written through A before B opens (one process's
stream positions: the shared allocator is another part of #15). Skipped without
BASTION_TEST_PG_DSN (scripts/with-postgres) and BASTION_TEST_REDIS_URL (scripts/with-redis).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bastion.config import DatabaseConfig, RedisConfig
from bastion.pubsub.redis import RedisBus
from tests.conftest import Homeserver, UserClient, errcode, homeserver_with, pg_dsn
from tests.redis_support import eventually, redis_url


@pytest.fixture
def db_kind() -> str:
    """PostgreSQL only: two processes on one SQLite file is refused by the config."""
    if pg_dsn() is None:
        pytest.skip("BASTION_TEST_PG_DSN is not set (run under scripts/with-postgres)")
    return "postgres"


@asynccontextmanager
async def process(tmp_path: Path, database: DatabaseConfig) -> AsyncIterator[Homeserver]:
    async with homeserver_with(tmp_path, database, redis=RedisConfig(url=redis_url())) as hs:
        assert isinstance(hs.runtime.bus, RedisBus)
        assert hs.runtime.shared.redis_state() is not None
        yield hs


def on(hs: Homeserver, user: UserClient) -> UserClient:
    """The same session, its requests sent to process `hs`."""
    return UserClient(hs.http, user.user_id, user.device_id, user.token)


async def two_in_a_room(hs: Homeserver) -> tuple[UserClient, UserClient, str]:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    return alice, bob, room_id


async def test_a_send_on_a_wakes_a_sync_parked_on_b(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    async with process(tmp_path, database_config) as a:
        alice, bob, room_id = await two_in_a_room(a)
        async with process(tmp_path, database_config) as b:
            upto = b.runtime.positions.persisted_upto()
            parked = asyncio.create_task(b.runtime.wakeups.wait(bob.user_id, upto, 30))
            await b.wait_for_waiting_syncs(1)
            await alice.send_text(room_id, "hello from A")
            assert await asyncio.wait_for(parked, 5) is True


async def test_typing_on_a_is_seen_by_a_sync_on_b(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    """Spec, typing: "the server will [...] inform all interested parties"."""
    async with process(tmp_path, database_config) as a:
        alice, bob, room_id = await two_in_a_room(a)
        async with process(tmp_path, database_config) as b:
            bob_on_b = on(b, bob)
            token = (await bob_on_b.sync(set_presence="offline"))["next_batch"]
            waiting = asyncio.create_task(
                bob_on_b.sync(since=token, timeout=20000, set_presence="offline")
            )
            await b.wait_for_waiting_syncs(1)
            resp = await alice.put(
                f"/rooms/{room_id}/typing/{alice.user_id}", json={"typing": True, "timeout": 20000}
            )
            assert resp.status_code == 200
            woken = await asyncio.wait_for(waiting, 10)
            typing = woken["rooms"]["join"][room_id]["ephemeral"]["events"]
            assert {"type": "m.typing", "content": {"user_ids": [alice.user_id]}} in typing
            # Both processes count typing serials in one sequence: B's token is valid on A.
            assert a.runtime.services.typing.serial == b.runtime.services.typing.serial


async def test_a_logout_on_a_ends_the_sync_parked_on_b_with_401(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    """Spec, POST /logout: "Invalidates an existing access token, so that it can no longer be
    used for authorization"; the revocation reaches B before A's response (confirmed)."""
    async with process(tmp_path, database_config) as a:
        _alice, bob, _room_id = await two_in_a_room(a)
        async with process(tmp_path, database_config) as b:
            bob_on_b = on(b, bob)
            token = (await bob_on_b.sync(set_presence="offline"))["next_batch"]
            parked = asyncio.create_task(
                bob_on_b.get(
                    "/sync",
                    params={"since": token, "timeout": "30000", "set_presence": "offline"},
                )
            )
            await b.wait_for_waiting_syncs(1)
            revocations = b.runtime.wakeups.revocation_serial(bob.user_id)
            assert (await bob.post("/logout", json={})).status_code == 200
            await eventually(lambda: b.runtime.wakeups.revocation_serial(bob.user_id) > revocations)
            assert errcode(await asyncio.wait_for(parked, 5)) == (401, "M_UNKNOWN_TOKEN")


async def test_a_send_on_a_answers_a_peek_parked_on_b(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    """Room previews (`GET /events?room_id=`): the lurker is not in the room, so only the
    room's event, crossing the bus, wakes their poll on the other process."""
    async with process(tmp_path, database_config) as a:
        alice = await a.register_user("alice")
        bob = await a.register_user("bob")
        room_id = await alice.create_room(
            preset="public_chat",
            initial_state=[
                {
                    "type": "m.room.history_visibility",
                    "content": {"history_visibility": "world_readable"},
                }
            ],
        )
        async with process(tmp_path, database_config) as b:
            bob_on_b = on(b, bob)
            snapshot = (await bob_on_b.get(f"/rooms/{room_id}/initialSync")).json()
            parked = asyncio.create_task(
                bob_on_b.get(
                    "/events",
                    params={
                        "room_id": room_id,
                        "from": snapshot["messages"]["end"],
                        "timeout": "30000",
                    },
                )
            )
            await b.wait_for_waiting_syncs(1)
            event_id = await alice.send_text(room_id, "hello from A")
            polled = (await asyncio.wait_for(parked, 5)).json()
            assert [e["event_id"] for e in polled["chunk"]] == [event_id]
