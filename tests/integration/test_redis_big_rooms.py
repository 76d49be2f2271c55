"""A big room's events between processes: the room ID crosses, not its members (issue #15;
pubsub/redis.py "Small messages"). A room of 20,000 members would otherwise put ~500 KB on
Redis per message; the receiving process finds the members in its own members cache before
any subscriber sees the message, and keeps the order its publisher sent messages in.

Bus tests need BASTION_TEST_REDIS_URL; the two-process test also BASTION_TEST_PG_DSN.
"""

from __future__ import annotations

import asyncio
from collections.abc import Set
from pathlib import Path

from bastion.config import DatabaseConfig
from bastion.pubsub.messages import (
    FEW_USERS,
    CacheInvalidated,
    DeliveryGap,
    EventsPersisted,
    Message,
    RoomEventPersisted,
)
from bastion.pubsub.redis import decode_frame, encode_frame
from tests.integration.test_redis_processes import db_kind, process
from tests.redis_support import eventually, redis_url, started_buses

__all__ = ["db_kind"]  # the fixture: PostgreSQL only

ROOM = "!big:x"
STAFF = frozenset(f"@user{n:05}:hospital.example" for n in range(20_000))
JOINER = "@new:hospital.example"


class Members:
    """A members cache standing in for RoomMembersCache: `joined` waits until released."""

    def __init__(self, joined: Set[str], *, cached: bool) -> None:
        self._joined = joined
        self._cached = cached
        self.release = asyncio.Event()
        self.lookups = 0

    def cached(self, room_id: str) -> Set[str] | None:
        return self._joined if self._cached and room_id == ROOM else None

    async def joined(self, room_id: str) -> Set[str]:
        self.lookups += 1
        await self.release.wait()
        return self._joined if room_id == ROOM else set()


def test_a_room_event_of_20000_members_crosses_in_a_few_bytes() -> None:
    """The encoded message carries the room ID and the member event's target, not 20,000
    user IDs; a room of few members crosses whole (no lookup on the other side)."""
    big = EventsPersisted(42, STAFF | {JOINER}, ROOM, frozenset({JOINER}))
    frame = encode_frame("0123456789abcdef", big)
    assert len(frame) < 200
    assert decode_frame(frame) == (
        "0123456789abcdef",
        RoomEventPersisted(42, ROOM, frozenset({JOINER})),
    )
    few = EventsPersisted(43, frozenset(sorted(STAFF)[:FEW_USERS]), ROOM)
    assert decode_frame(encode_frame("o", few)) == ("o", few)


async def test_the_receiver_adds_the_members_before_any_subscriber_sees_it() -> None:
    async with started_buses(redis_url(), 2) as [a, b]:
        b.find_members_with(Members(STAFF, cached=True))
        received: list[EventsPersisted] = []
        b.subscribe(EventsPersisted, received.append)
        a.publish(EventsPersisted(7, STAFF | {JOINER}, ROOM, frozenset({JOINER})))
        await eventually(lambda: len(received) == 1)
        assert received == [EventsPersisted(7, STAFF | {JOINER}, ROOM, frozenset({JOINER}))]


async def test_messages_behind_a_member_lookup_keep_their_order() -> None:
    """Per-publisher order (pubsub/base.py) holds while a room's members are read."""
    async with started_buses(redis_url(), 2) as [a, b]:
        members = Members(STAFF, cached=False)
        b.find_members_with(members)
        received: list[Message] = []
        b.subscribe(EventsPersisted, received.append)
        b.subscribe(CacheInvalidated, received.append)
        a.publish(EventsPersisted(7, STAFF, ROOM))
        a.publish(CacheInvalidated("room_members", ROOM))
        a.publish(EventsPersisted(8, frozenset({JOINER}), None))
        await eventually(lambda: members.lookups == 1)
        assert received == []  # all three wait behind the lookup
        members.release.set()
        await eventually(lambda: len(received) == 3)
        assert received == [
            EventsPersisted(7, STAFF, ROOM),
            CacheInvalidated("room_members", ROOM),
            EventsPersisted(8, frozenset({JOINER}), None),
        ]


async def test_without_a_members_cache_a_big_room_event_is_a_delivery_gap() -> None:
    """Nothing is lost: every parked sync re-reads the database instead."""
    async with started_buses(redis_url(), 2) as [a, b]:
        gaps: list[DeliveryGap] = []
        b.subscribe(DeliveryGap, gaps.append)
        a.publish(EventsPersisted(7, STAFF, ROOM))
        await eventually(lambda: len(gaps) == 1)


async def test_a_message_in_a_big_room_wakes_a_sync_parked_on_the_other_process(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    """Issue #15: "a send on A wakes a sync on B", in a room of more than FEW_USERS members,
    whose message crosses as its room ID and is woken from B's members cache."""
    async with process(tmp_path, database_config) as a:
        alice = await a.register_user("alice")
        room_id = await alice.create_room(preset="public_chat")
        members = [await a.register_user(f"member{n}") for n in range(FEW_USERS)]
        for member in members:
            await member.join(room_id)
        bob = members[-1]
        sent: list[EventsPersisted] = []
        a.runtime.bus.subscribe(EventsPersisted, sent.append)
        async with process(tmp_path, database_config) as b:
            heard: list[EventsPersisted] = []
            b.runtime.bus.subscribe(EventsPersisted, heard.append)
            upto = b.runtime.positions.persisted_upto()
            parked = asyncio.create_task(b.runtime.wakeups.wait(bob.user_id, upto, 30))
            await b.wait_for_waiting_syncs(1)
            await alice.send_text(room_id, "to everyone on the ward")
            assert await asyncio.wait_for(parked, 5) is True
            [message] = [m for m in sent if m.room_id == room_id]
            assert len(message.user_ids) == FEW_USERS + 1  # what A's own subscribers got
            assert len(encode_frame("0123456789abcdef", message)) < 200  # what crossed
            # B woke bob from its members cache (a DeliveryGap would have woken him too).
            assert [m for m in heard if m.room_id == room_id] == [message]
