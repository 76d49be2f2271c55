"""RoomMembersCache: filled once per room, dropped by an invalidation, never kept from a read
that overlapped an invalidation of its room; fills inside a transaction read through it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import cast

from bastion.services.members_cache import RoomMembersCache
from bastion.store.database import Database
from bastion.store.protocols import MembershipStore

ROOM, OTHER = "!room:x", "!other:x"
ALICE, BOB = "@alice:x", "@bob:x"
DATABASE = object()


class StoredMembers:
    """What the memberships table holds: joined users per room."""

    def __init__(self) -> None:
        self.joined: dict[str, set[str]] = {ROOM: {ALICE}, OTHER: {BOB}}
        self.read_through: list[object] = []
        self.gate: asyncio.Event | None = None

    async def members(self, q: object, room_id: str, memberships: Sequence[str]) -> list[str]:
        assert list(memberships) == ["join"]
        self.read_through.append(q)
        value = sorted(self.joined[room_id])
        if self.gate is not None:
            await self.gate.wait()  # the read has happened; its answer arrives later
        return value


def cache(stored: StoredMembers) -> RoomMembersCache:
    return RoomMembersCache(cast(Database, DATABASE), cast(MembershipStore, stored))


async def test_filled_once_then_dropped_by_an_invalidation() -> None:
    stored = StoredMembers()
    members = cache(stored)
    assert await members.joined(ROOM) == {ALICE}
    stored.joined[ROOM].add(BOB)  # a join commits...
    assert await members.joined(ROOM) == {ALICE}  # ...unseen until its invalidation
    members.invalidate(ROOM)
    assert await members.joined(ROOM) == {ALICE, BOB}
    assert stored.read_through == [DATABASE, DATABASE]


async def test_a_read_that_raced_with_an_invalidation_is_not_kept() -> None:
    stored = StoredMembers()
    stored.gate = asyncio.Event()
    members = cache(stored)
    slow_read = asyncio.create_task(members.joined(ROOM))
    other_room = asyncio.create_task(members.joined(OTHER))
    await asyncio.sleep(0)  # both reads have started with the old lists
    stored.joined[ROOM].add(BOB)
    members.invalidate(ROOM)
    stored.gate.set()
    assert await slow_read == {ALICE}  # that caller saw the old list...
    assert await other_room == {BOB}
    stored.gate = None
    assert await members.joined(ROOM) == {ALICE, BOB}  # ...but it was not cached
    assert await members.joined(OTHER) == {BOB}  # the other room's read was kept
    assert len(stored.read_through) == 3


async def test_a_fill_inside_a_transaction_reads_through_it_and_is_not_kept() -> None:
    stored = StoredMembers()
    members = cache(stored)
    transaction = object()
    assert await members.joined_in(transaction, ROOM) == {ALICE}
    assert await members.joined_in(transaction, ROOM) == {ALICE}
    assert stored.read_through == [transaction, transaction]
    assert await members.joined(ROOM) == {ALICE}  # a fill outside one is kept...
    assert await members.joined_in(transaction, ROOM) == {ALICE}  # ...and then used
    assert stored.read_through == [transaction, transaction, DATABASE]
