"""Typing across processes (services/ephemeral/typing.py): each process applies every
process's `TypingChanged` to its own copy, serials only move forward, and a notice renewed
elsewhere is not ended by the timer of the process that first received it.

Spec, typing: "the server will [...] inform all interested parties"; with several processes the
interested parties' syncs may be served by any of them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

from bastion.clock import FakeClock
from bastion.pubsub.memory import MemoryBus
from bastion.pubsub.messages import EphemeralChanged, Message, TypingChanged
from bastion.services.ephemeral.typing import TypingService
from bastion.services.members_cache import RoomMembersCache
from bastion.services.principal import Requester
from bastion.store.database import Database
from bastion.store.protocols import MembershipStore
from tests.unit.test_members_cache import DATABASE, StoredMembers

ROOM = "!room:x"
ALICE, BOB = "@alice:x", "@bob:x"


class Counter:
    """A shared serial source, as Redis's counter is for every process."""

    def __init__(self) -> None:
        self.value = 0

    async def next(self, floor: int) -> int:
        self.value = max(self.value, floor) + 1
        return self.value


def process(serials: Counter) -> tuple[TypingService, MemoryBus, FakeClock]:
    stored = StoredMembers()
    stored.joined[ROOM] = {ALICE, BOB}
    members = RoomMembersCache(cast(Database, DATABASE), cast(MembershipStore, stored))
    bus, clock = MemoryBus(), FakeClock()
    typing = TypingService(members, bus, clock, serials)
    typing.listen_to(bus)
    return typing, bus, clock


def link(a: MemoryBus, b: MemoryBus) -> None:
    """What the Redis bus does between two processes, for typing: each message published on
    one is delivered on the other too, once (a relayed message is not relayed back)."""
    relaying = False

    def forward(target: MemoryBus) -> Callable[[Message], None]:
        def handler(message: Message) -> None:
            nonlocal relaying
            if relaying:
                return
            relaying = True
            try:
                target.publish(message)
            finally:
                relaying = False

        return handler

    for source, target in ((a, b), (b, a)):
        source.subscribe(TypingChanged, forward(target))
        source.subscribe(EphemeralChanged, forward(target))


async def test_a_change_on_one_process_is_seen_by_the_other_with_the_same_serial() -> None:
    serials = Counter()
    (typing_a, bus_a, _), (typing_b, bus_b, _) = process(serials), process(serials)
    link(bus_a, bus_b)
    woken: list[EphemeralChanged] = []
    bus_b.subscribe(EphemeralChanged, woken.append)
    alice = Requester(ALICE, "DEV", is_admin=False)
    await typing_a.set_typing(alice, ROOM, ALICE, typing=True, timeout_ms=30_000)
    assert typing_b.typers(ROOM) == [ALICE]
    assert typing_a.serial == typing_b.serial == 1
    assert typing_b.rooms_changed_since(0) == {ROOM}
    assert woken == [EphemeralChanged(1, frozenset({ALICE, BOB}))]
    await typing_b.set_typing(alice, ROOM, ALICE, typing=False, timeout_ms=0)
    assert typing_a.typers(ROOM) == []
    assert typing_a.serial == typing_b.serial == 2


async def test_serials_never_go_back_and_old_changes_do_not_undo_newer_ones() -> None:
    typing, bus, _ = process(Counter())
    bus.publish(TypingChanged(7, ROOM, ALICE, 30_000))
    bus.publish(TypingChanged(5, ROOM, ALICE, 0))  # older, arriving late: ignored
    assert typing.typers(ROOM) == [ALICE]
    assert typing.serial == 7
    assert typing.rooms_changed_since(7) == set()


async def test_a_notice_renewed_elsewhere_outlives_the_first_processs_timer() -> None:
    serials = Counter()
    (typing_a, bus_a, _), (typing_b, bus_b, _) = process(serials), process(serials)
    link(bus_a, bus_b)
    alice = Requester(ALICE, "DEV", is_admin=False)
    await typing_a.set_typing(alice, ROOM, ALICE, typing=True, timeout_ms=1)
    await typing_b.set_typing(alice, ROOM, ALICE, typing=True, timeout_ms=60_000)
    await asyncio.sleep(0.01)  # A's 1 ms timer (real loop time) fires: the notice is B's now
    await asyncio.sleep(0)
    assert typing_a.typers(ROOM) == [ALICE]
    assert typing_b.typers(ROOM) == [ALICE]
