"""The Redis bus between processes (pubsub/redis.py), with several buses in one test standing
for several processes: exactly-once delivery to the others, order per publisher, confirmed
publishes, shared rate limits and typing serials, and an outage of Redis (a server this test
starts, kills and restarts) that slows wake-ups down but loses none.

Issue #15: "a send on process A wakes a /sync [...] parked on B within milliseconds"; "A Redis
outage degrades to slower wake-ups (periodic re-check) and never to lost or duplicated events;
reconnects by itself." Skipped without BASTION_TEST_REDIS_URL (scripts/with-redis).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from bastion.app.redis_wiring import SharedState
from bastion.clock import FakeClock
from bastion.config import RateLimit
from bastion.errors import MatrixError
from bastion.pubsub.messages import (
    CacheInvalidated,
    DeliveryGap,
    EventsPersisted,
    SessionsRevoked,
    TypingChanged,
)
from bastion.pubsub.redis import RedisBus, decode_frame, encode_frame
from bastion.pubsub.redis_shared import RedisTypingSerials
from bastion.pubsub.wakeups import SyncWakeups
from tests.redis_support import (
    OwnRedis,
    eventually,
    own_redis_binary,
    redis_url,
    started_buses,
)

ALICE, BOB = "@alice:x", "@bob:x"


def test_frames_round_trip_with_frozensets() -> None:
    message = EventsPersisted(7, frozenset({ALICE, BOB}), "!r:x")
    assert decode_frame(encode_frame("me", message)) == ("me", message)
    with pytest.raises(ValueError, match="undecodable"):
        decode_frame(b"\x93\xa2me\xa7Unknown\x80")


async def test_a_message_reaches_every_other_process_exactly_once_in_order() -> None:
    async with started_buses(redis_url(), 3) as [a, b, c]:
        received: dict[str, list[EventsPersisted]] = {"a": [], "b": [], "c": []}
        for name, bus in (("a", a), ("b", b), ("c", c)):
            bus.subscribe(EventsPersisted, received[name].append)
        sent = [EventsPersisted(n, frozenset({ALICE}), "!r:x") for n in range(1, 51)]
        for message in sent:
            a.publish(message)
        assert received["a"] == sent  # at once, in its own process
        await eventually(lambda: len(received["b"]) == 50 and len(received["c"]) == 50)
        b.publish(EventsPersisted(99, frozenset({BOB})))
        await eventually(lambda: len(received["c"]) == 51 and len(received["a"]) == 51)
        assert received["b"][:50] == sent  # in publication order
        assert received["c"][:50] == sent
        assert received["a"][50] == EventsPersisted(99, frozenset({BOB}))
        assert len(received["b"]) == 51  # its own message once, not echoed back by Redis


async def test_a_send_on_one_process_wakes_a_sync_parked_on_another() -> None:
    async with started_buses(redis_url(), 2) as [a, b]:
        wakeups = SyncWakeups()
        wakeups.listen_to(b)
        parked = asyncio.create_task(wakeups.wait(ALICE, after=10, timeout_s=30))
        await eventually(lambda: wakeups.waiting_users() == 1)
        a.publish(EventsPersisted(11, frozenset({ALICE}), "!r:x"))
        assert await asyncio.wait_for(parked, 5) is True


async def test_a_confirmed_revocation_has_left_before_the_publisher_returns() -> None:
    """Revocations (services/e2ee/device_lists.py) wait for Redis to take the message."""
    async with started_buses(redis_url(), 2) as [a, b]:
        wakeups = SyncWakeups()
        wakeups.listen_to(b)
        seen = wakeups.revocation_serial(ALICE)
        for n in range(20):  # queued behind ordinary messages: they go first, in order
            a.publish(CacheInvalidated("room_members", f"!r{n}:x"))
        await a.publish_confirmed(SessionsRevoked(ALICE))
        assert a.state().queued == 0
        await eventually(lambda: wakeups.revocation_serial(ALICE) == seen + 1)


async def test_rate_limits_are_shared_between_processes() -> None:
    """Each process allows at most one action per key beyond the shared bucket
    (pubsub/redis_shared.py), where a limit kept per process would allow `burst` more."""
    async with started_buses(redis_url(), 2) as [a, b]:
        name, limit = f"test-{uuid.uuid4().hex}", RateLimit(per_second=0.001, burst=3)
        shared_a, shared_b = SharedState(bus=a, redis=a), SharedState(bus=b, redis=b)
        on_a = shared_a.limiter(FakeClock(), limit, name)
        on_b = shared_b.limiter(FakeClock(), limit, name)
        for _ in range(3):
            on_a.hit(ALICE)
        await shared_a.drain()
        on_b.hit(ALICE)  # B had not heard of ALICE yet: its one action of slack
        await shared_b.drain()
        with pytest.raises(MatrixError) as refused:
            on_b.hit(ALICE)
        assert refused.value.status == 429
        on_a.forget(ALICE)  # a success resets the key everywhere
        await shared_a.drain()
        on_b.forget(ALICE)
        on_b.hit(BOB)  # other keys are untouched


async def test_an_accounts_own_limit_is_shared_between_processes() -> None:
    """An admin's `override_ratelimit` (services/ratelimit.py `AccountLimits`) is one limit
    for every process, as the server's is: kept per process, two processes would give the
    account twice its burst."""
    async with started_buses(redis_url(), 2) as [a, b]:
        server = RateLimit(per_second=100, burst=100)
        shared_a, shared_b = SharedState(bus=a, redis=a), SharedState(bus=b, redis=b)
        on_a = shared_a.account_limits(FakeClock(), server)
        on_b = shared_b.account_limits(FakeClock(), server)
        bot = f"@bot-{uuid.uuid4().hex}:x"
        override = (1, 3)  # 1 a second, 3 at once (far below the server's 100)
        for _ in range(3):
            on_a.hit(bot, override)
        await shared_a.drain()
        on_b.hit(bot, override)  # B had not heard of the bot yet: its one action of slack
        await shared_b.drain()
        with pytest.raises(MatrixError) as refused:
            on_b.hit(bot, override)
        assert refused.value.status == 429
        on_b.hit(BOB, None)  # others keep the server's limit


async def test_typing_serials_are_one_sequence_for_every_process() -> None:
    async with started_buses(redis_url(), 2) as [a, b]:
        serials_a = RedisTypingSerials(a, lambda: True)
        serials_b = RedisTypingSerials(b, lambda: True)
        first = await serials_a.next(0)
        second = await serials_b.next(0)
        assert second > first
        assert await serials_a.next(second + 1000) == second + 1001  # never below the floor
        assert await serials_b.next(0) == second + 1002
        down = RedisTypingSerials(a, lambda: False)
        assert await down.next(41) == 42  # Redis unreachable: this process's own next serial


async def test_typing_changes_reach_every_process() -> None:
    async with started_buses(redis_url(), 2) as [a, b]:
        got: list[TypingChanged] = []
        b.subscribe(TypingChanged, got.append)
        a.publish(TypingChanged(5, "!r:x", ALICE, 30_000))
        await eventually(lambda: got == [TypingChanged(5, "!r:x", ALICE, 30_000)])


async def test_an_outage_of_redis_slows_wake_ups_but_loses_none(tmp_path: Path) -> None:
    server = OwnRedis(own_redis_binary(), tmp_path)
    server.start()
    try:
        await server.ready()
        async with started_buses(server.url, 2, recheck_interval_s=0.05) as [a, b]:
            await _outage(server, a, b)
    finally:
        server.kill()


async def _outage(server: OwnRedis, a: RedisBus, b: RedisBus) -> None:
    wakeups = SyncWakeups()
    wakeups.listen_to(b)
    gaps: list[DeliveryGap] = []
    b.subscribe(DeliveryGap, gaps.append)
    received: list[EventsPersisted] = []
    b.subscribe(EventsPersisted, received.append)
    server.kill()
    await eventually(lambda: not a.state().connected and not b.state().connected)
    # A parked sync on B wakes by itself every re-check interval (it then reads the database).
    parked = asyncio.create_task(wakeups.wait(ALICE, after=10, timeout_s=30))
    assert await asyncio.wait_for(parked, 5) is True
    a.publish(EventsPersisted(11, frozenset({ALICE}), "!r:x"))  # queued meanwhile
    await a.publish_confirmed(SessionsRevoked(BOB))  # returns at once: nobody to confirm
    assert a.state().queued == 2
    gaps_before = len([gap for gap in gaps if gap.reason == "redis connected"])
    server.start()
    await server.ready()
    assert await a.wait_connected(10)
    assert await b.wait_connected(10)
    await eventually(lambda: a.state().queued == 0)  # the queue is flushed
    assert a.state().reconnects == 1
    assert b.state().reconnects == 1
    assert a.state().dropped == 0
    # Whether the queued wake-up reached B depends on which of A's flush and B's subscription
    # came first; B's own reconnection gap woke its syncs in any case, and nothing came twice.
    assert len([gap for gap in gaps if gap.reason == "redis connected"]) == gaps_before + 1
    assert received in ([], [EventsPersisted(11, frozenset({ALICE}), "!r:x")])
    # Wake-ups resume through Redis.
    seen = len(received)
    a.publish(EventsPersisted(12, frozenset({ALICE}), "!r:x"))
    await eventually(lambda: len(received) == seen + 1)
    assert received[-1] == EventsPersisted(12, frozenset({ALICE}), "!r:x")
