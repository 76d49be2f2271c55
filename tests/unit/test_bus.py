"""The bus: typed dispatch, isolation of a failing subscriber, cache subscriptions, and the
/sync wake-ups it feeds (only the users a message concerns are woken)."""

from __future__ import annotations

import asyncio

import pytest

from bastion.pubsub.base import Bus, subscribe_cache
from bastion.pubsub.memory import MemoryBus
from bastion.pubsub.messages import (
    CacheInvalidated,
    EphemeralChanged,
    EventsPersisted,
    Message,
    PositionAdvanced,
)
from bastion.pubsub.wakeups import SyncWakeups
from bastion.services.push.delivery.wakeup import PushWakeups

ALICE, BOB = "@alice:x", "@bob:x"


def test_messages_reach_only_the_subscribers_of_their_type() -> None:
    bus: Bus = MemoryBus()
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


def test_a_failing_subscriber_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    bus = MemoryBus()
    received: list[PositionAdvanced] = []

    def broken(_message: PositionAdvanced) -> None:
        raise RuntimeError("subscriber bug")

    bus.subscribe(PositionAdvanced, broken)
    bus.subscribe(PositionAdvanced, received.append)
    bus.publish(PositionAdvanced("main", 3))  # does not raise: the publisher has committed
    assert received == [PositionAdvanced("main", 3)]
    assert "subscriber bug" in caplog.text


def test_a_cache_subscription_sees_only_its_cache() -> None:
    bus = MemoryBus()
    dropped: list[str] = []
    subscribe_cache(bus, "push_rules", dropped.append)
    bus.publish(CacheInvalidated("room_members", "!r:x"))
    bus.publish(CacheInvalidated("push_rules", ALICE))
    assert dropped == [ALICE]


def test_the_push_worker_is_poked_by_room_events_only() -> None:
    bus, wakeups = MemoryBus(), PushWakeups()
    wakeups.load([ALICE])
    wakeups.take(())  # nothing left from the start
    bus.subscribe(EventsPersisted, wakeups.on_persisted)
    bus.publish(EventsPersisted(5, frozenset({ALICE})))  # a receipt, to-device, ...: no room
    assert wakeups.take(()) == set()
    bus.publish(EventsPersisted(6, frozenset({ALICE, BOB}), "!r:x"))
    assert wakeups.take(()) == {ALICE}  # bob has no pusher


async def test_a_persisted_change_wakes_only_the_users_it_concerns() -> None:
    bus, wakeups = MemoryBus(), SyncWakeups()
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


async def test_a_change_before_the_wait_is_not_missed() -> None:
    bus, wakeups = MemoryBus(), SyncWakeups()
    wakeups.listen_to(bus)
    bus.publish(EventsPersisted(11, frozenset({ALICE})))
    assert await wakeups.wait(ALICE, after=10, timeout_s=0) is True
    assert await wakeups.wait(ALICE, after=11, timeout_s=0) is False


async def test_ephemeral_changes_wake_only_a_wait_that_asks_for_them() -> None:
    bus, wakeups = MemoryBus(), SyncWakeups()
    wakeups.listen_to(bus)
    bus.publish(EphemeralChanged(3, frozenset({ALICE})))
    assert await wakeups.wait(ALICE, after=0, timeout_s=0) is False
    assert await wakeups.wait(ALICE, after=0, timeout_s=0, after_ephemeral=2) is True
    assert await wakeups.wait(ALICE, after=0, timeout_s=0, after_ephemeral=3) is False
    waiting = asyncio.create_task(wakeups.wait(BOB, after=0, timeout_s=60, after_ephemeral=0))
    await asyncio.sleep(0)
    bus.publish(EphemeralChanged(4, frozenset({BOB})))
    assert await waiting is True
