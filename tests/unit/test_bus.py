"""The bus: typed dispatch, isolation of a failing subscriber, cache subscriptions, and the
/sync wake-ups it feeds (only the users a message concerns are woken).

A contract suite: each test runs on the in-process bus and on the Redis one (its local
delivery must keep the same invariants; skipped without BASTION_TEST_REDIS_URL). What crosses
processes is in tests/integration/test_redis_bus.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bastion.pubsub.base import Bus, subscribe_cache
from bastion.pubsub.memory import MemoryBus
from bastion.pubsub.messages import (
    CacheInvalidated,
    DeliveryGap,
    EphemeralChanged,
    EventsPersisted,
    Message,
    PositionAdvanced,
    SessionsRevoked,
)
from bastion.pubsub.wakeups import RECENT_ROOM_EVENTS, SyncWakeups
from bastion.services.push.delivery.wakeup import PushWakeups
from tests.redis_support import redis_url, started_buses

ALICE, BOB = "@alice:x", "@bob:x"


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    """Each `Bus` implementation, as one process sees it."""
    if request.param == "memory":
        yield MemoryBus()
        return
    async with started_buses(redis_url(), 1) as [redis_bus]:
        yield redis_bus


async def test_messages_reach_only_the_subscribers_of_their_type(bus: Bus) -> None:
    persisted: list[EventsPersisted] = []
    invalidated: list[CacheInvalidated] = []
    bus.subscribe(EventsPersisted, persisted.append)
    bus.subscribe(CacheInvalidated, invalidated.append)
    sent: list[Message] = [
        EventsPersisted(7, frozenset({ALICE}), "!r:x"),
        CacheInvalidated("room_members", "!r:x"),
        EphemeralChanged(1, frozenset({BOB})),  # nobody subscribed: dropped
        PositionAdvanced("main", 7),
        EventsPersisted(8, frozenset({BOB})),
    ]
    for message in sent:
        bus.publish(message)
    assert persisted == [sent[0], sent[4]]  # in publication order
    assert invalidated == [sent[1]]


async def test_a_failing_subscriber_does_not_stop_the_others(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    received: list[PositionAdvanced] = []

    def broken(_message: PositionAdvanced) -> None:
        raise RuntimeError("subscriber bug")

    bus.subscribe(PositionAdvanced, broken)
    bus.subscribe(PositionAdvanced, received.append)
    bus.publish(PositionAdvanced("main", 3))  # does not raise: the publisher has committed
    assert received == [PositionAdvanced("main", 3)]
    assert "subscriber bug" in caplog.text


async def test_a_cache_subscription_sees_only_its_cache(bus: Bus) -> None:
    dropped: list[str] = []
    subscribe_cache(bus, "push_rules", dropped.append)
    bus.publish(CacheInvalidated("room_members", "!r:x"))
    bus.publish(CacheInvalidated("push_rules", ALICE))
    assert dropped == [ALICE]


async def test_the_push_worker_is_poked_by_room_events_only(bus: Bus) -> None:
    wakeups = PushWakeups()
    wakeups.load([ALICE])
    wakeups.take(())  # nothing left from the start
    bus.subscribe(EventsPersisted, wakeups.on_persisted)
    bus.publish(EventsPersisted(5, frozenset({ALICE})))  # a receipt, to-device, ...: no room
    assert wakeups.take(()) == set()
    bus.publish(EventsPersisted(6, frozenset({ALICE, BOB}), "!r:x"))
    assert wakeups.take(()) == {ALICE}  # bob has no pusher


async def test_a_persisted_change_wakes_only_the_users_it_concerns(bus: Bus) -> None:
    wakeups = SyncWakeups()
    wakeups.listen_to(bus)
    alice = asyncio.create_task(wakeups.wait(ALICE, after=10, timeout_s=60))
    bob = asyncio.create_task(wakeups.wait(BOB, after=10, timeout_s=60))
    await asyncio.sleep(0)  # both are parked
    assert wakeups.waiting_users() == 2
    bus.publish(EventsPersisted(11, frozenset({ALICE}), "!r:x"))
    assert await alice is True
    await asyncio.sleep(0)
    assert not bob.done()
    assert wakeups.waiting_users() == 1
    bus.publish(EventsPersisted(12, frozenset({BOB})))
    assert await bob is True
    assert wakeups.waiting_users() == 0


async def test_a_change_before_the_wait_is_not_missed(bus: Bus) -> None:
    wakeups = SyncWakeups()
    wakeups.listen_to(bus)
    bus.publish(EventsPersisted(11, frozenset({ALICE})))
    assert await wakeups.wait(ALICE, after=10, timeout_s=0) is True
    assert await wakeups.wait(ALICE, after=11, timeout_s=0) is False


async def test_ephemeral_changes_wake_only_a_wait_that_asks_for_them(bus: Bus) -> None:
    wakeups = SyncWakeups()
    wakeups.listen_to(bus)
    bus.publish(EphemeralChanged(3, frozenset({ALICE})))
    assert await wakeups.wait(ALICE, after=0, timeout_s=0) is False
    assert await wakeups.wait(ALICE, after=0, timeout_s=0, after_ephemeral=2) is True
    assert await wakeups.wait(ALICE, after=0, timeout_s=0, after_ephemeral=3) is False
    waiting = asyncio.create_task(wakeups.wait(BOB, after=0, timeout_s=60, after_ephemeral=0))
    await asyncio.sleep(0)
    bus.publish(EphemeralChanged(4, frozenset({BOB})))
    assert await waiting is True


async def test_a_peeking_wait_is_woken_by_its_rooms_events_only(bus: Bus) -> None:
    """`GET /events?room_id=` (services/rooms/peeking.py): the user is not in the room, so
    only the room's events name it."""
    wakeups = SyncWakeups()
    wakeups.listen_to(bus)
    peek = asyncio.create_task(wakeups.wait(BOB, after=10, timeout_s=60, room_id="!r:x"))
    await asyncio.sleep(0)
    bus.publish(EventsPersisted(11, frozenset({ALICE}), "!other:x"))
    await asyncio.sleep(0)
    assert not peek.done()
    bus.publish(EventsPersisted(12, frozenset({ALICE}), "!r:x"))
    assert await peek is True
    assert wakeups.waiting_users() == 0


async def test_a_rooms_event_before_the_peeking_wait_is_not_missed(bus: Bus) -> None:
    """Positions are remembered whatever order processes announce them in."""
    wakeups = SyncWakeups()
    wakeups.listen_to(bus)
    bus.publish(EventsPersisted(15, frozenset({ALICE}), "!r:x"))
    bus.publish(EventsPersisted(12, frozenset({ALICE}), "!other:x"))  # later, lower position
    assert await wakeups.wait(BOB, after=13, timeout_s=0, room_id="!r:x") is True
    assert await wakeups.wait(BOB, after=15, timeout_s=0, room_id="!r:x") is False
    assert await wakeups.wait(BOB, after=13, timeout_s=0, room_id="!quiet:x") is False


async def test_a_peeking_wait_older_than_what_is_remembered_returns_at_once(bus: Bus) -> None:
    """Only the last `RECENT_ROOM_EVENTS` room events are kept: a wait from before them cannot
    know, so it returns and its caller reads the room again."""
    wakeups = SyncWakeups()
    wakeups.listen_to(bus)
    for position in range(1, RECENT_ROOM_EVENTS + 11):
        bus.publish(EventsPersisted(position, frozenset({ALICE}), "!busy:x"))
    assert await wakeups.wait(BOB, after=5, timeout_s=0, room_id="!quiet:x") is True
    assert await wakeups.wait(BOB, after=20, timeout_s=0, room_id="!quiet:x") is False


async def test_a_delivery_gap_wakes_a_peeking_wait(bus: Bus) -> None:
    wakeups = SyncWakeups()
    wakeups.listen_to(bus)
    peek = asyncio.create_task(wakeups.wait(BOB, after=10, timeout_s=60, room_id="!r:x"))
    await asyncio.sleep(0)
    bus.publish(DeliveryGap("test"))
    assert await peek is True


async def test_a_confirmed_publish_reaches_local_subscribers_before_it_returns(bus: Bus) -> None:
    """Revocations use it: base.py's `publish_confirmed`."""
    wakeups = SyncWakeups()
    wakeups.listen_to(bus)
    before = wakeups.revocation_serial(ALICE)
    await bus.publish_confirmed(SessionsRevoked(ALICE))
    assert wakeups.revocation_serial(ALICE) == before + 1


async def test_a_delivery_gap_wakes_every_sync_and_counts_as_a_revocation(bus: Bus) -> None:
    """While the other processes cannot be heard, every parked sync re-reads the database
    and re-checks its session (pubsub/wakeups.py)."""
    wakeups = SyncWakeups()
    wakeups.listen_to(bus)
    dropped: list[str] = []
    subscribe_cache(bus, "room_members", dropped.append, lambda: dropped.append("*"))
    seen = wakeups.revocation_serial(ALICE)
    alice = asyncio.create_task(wakeups.wait(ALICE, after=10, timeout_s=60))
    bob = asyncio.create_task(wakeups.wait(BOB, after=10, timeout_s=60))
    await asyncio.sleep(0)
    bus.publish(DeliveryGap("test"))
    assert await alice is True
    assert await bob is True
    assert wakeups.revocation_serial(ALICE) == seen + 1
    assert await wakeups.wait(ALICE, after=10, timeout_s=0, after_revocation=seen) is True
    assert dropped == ["*"]
