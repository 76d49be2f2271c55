"""Presence across two processes: two runtimes on one PostgreSQL database, each with its own
Redis bus and its own FakeClock (moved together), the expiry sweep running on A only, as under
the worker's lease (issue #15: "presence activity" shared through Redis and the database).

Spec, client-server-api#presence: "The server will automatically set a user's presence to
`unavailable` if their last active time was over a threshold value [...] and if the user has
not been syncing, [...] `offline`"; a user syncing through another process is syncing all the
same. Skipped without BASTION_TEST_PG_DSN and BASTION_TEST_REDIS_URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bastion.config import DatabaseConfig
from bastion.services.presence.expiry import REMOTE_SYNC_MS
from tests.conftest import Homeserver, UserClient
from tests.integration.test_redis_processes import db_kind, on, process, two_in_a_room
from tests.redis_support import eventually

__all__ = ["db_kind"]  # the fixture: PostgreSQL only

STEP_S = 5  # the sweep's interval
SYNC_S = 30  # how long each of the client's long-polls is held


async def presence(client: UserClient, user_id: str) -> str:
    resp = await client.get(f"/presence/{user_id}/status")
    assert resp.status_code == 200, resp.text
    state: str = resp.json()["presence"]
    return state


def advance(*processes: Homeserver, seconds: float) -> None:
    for hs in processes:
        hs.clock.advance(seconds)


async def sweep(hs: Homeserver) -> int:
    return await hs.runtime.services.presence.expire(hs.clock.now_ms())


async def keep_syncing(a: Homeserver, b: Homeserver, user_id: str, *, seconds: int) -> None:
    """`user_id` long-polls on B back to back for `seconds`, while A sweeps every STEP_S."""
    for _ in range(seconds // SYNC_S):
        async with b.runtime.services.presence.syncing(user_id, "online"):
            for _ in range(SYNC_S // STEP_S):
                advance(a, b, seconds=STEP_S)
                await sweep(a)


async def stop_and_wait(a: Homeserver, b: Homeserver, *, seconds: int) -> None:
    for _ in range(seconds // STEP_S):
        advance(a, b, seconds=STEP_S)
        await sweep(a)


def stale(hs: Homeserver, user_id: str) -> Any:
    entry = hs.runtime.services.presence._tracker.get(user_id)
    return entry is None or entry.stale


async def test_a_user_syncing_on_b_is_not_timed_out_by_the_sweep_on_a(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    """A user whose syncs land on B stays online for A's sweep, however long they sync; once
    they stop syncing everywhere, A's sweep takes them offline, and B knows it."""
    async with process(tmp_path, database_config) as a:
        alice, bob, _room_id = await two_in_a_room(a)
        async with process(tmp_path, database_config) as b:
            await on(b, alice).sync(timeout=0)  # online, through B
            assert await presence(bob, alice.user_id) == "online"

            await keep_syncing(a, b, alice.user_id, seconds=300)
            assert await presence(bob, alice.user_id) == "online"

            await stop_and_wait(a, b, seconds=(REMOTE_SYNC_MS // 1000) + 60)
            assert await presence(bob, alice.user_id) == "offline"
            await eventually(lambda: stale(b, alice.user_id))  # A's write reached B
            assert await presence(on(b, bob), alice.user_id) == "offline"


async def test_a_user_timed_out_by_a_comes_back_online_when_syncing_on_b(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    """B must not keep its old view of a user A's sweep took offline: the user's next sync
    on B is a visible change again."""
    async with process(tmp_path, database_config) as a:
        alice, bob, _room_id = await two_in_a_room(a)
        async with process(tmp_path, database_config) as b:
            await on(b, alice).sync(timeout=0)
            await stop_and_wait(a, b, seconds=(REMOTE_SYNC_MS // 1000) + 60)
            assert await presence(bob, alice.user_id) == "offline"
            await eventually(lambda: stale(b, alice.user_id))

            await on(b, alice).sync(timeout=0)
            assert await presence(bob, alice.user_id) == "online"


async def test_activity_on_b_keeps_a_user_from_idling_on_a(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    """Spec: "unavailable if their last active time was over a threshold value"; messages sent
    through B are activity, so A's sweep leaves the sender online."""
    async with process(tmp_path, database_config) as a:
        alice, bob, room_id = await two_in_a_room(a)
        async with process(tmp_path, database_config) as b:
            alice_on_b = on(b, alice)
            await alice_on_b.sync(timeout=0)
            for n in range(12):  # 6 minutes, beyond the 5 minutes of idling, active on B
                await alice_on_b.send_text(room_id, f"still here {n}")
                async with b.runtime.services.presence.syncing(alice.user_id, "online"):
                    for _ in range(30 // STEP_S):
                        advance(a, b, seconds=STEP_S)
                        await sweep(a)
            resp = await bob.get(f"/presence/{alice.user_id}/status")
            assert resp.json()["presence"] == "online"
            assert resp.json()["currently_active"] is True
