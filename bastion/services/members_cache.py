"""Who is joined to each room, in memory, for choosing whose syncs to wake.

Filled from the database on first use per room; an entry is dropped when the bus carries
`CacheInvalidated(MEMBERS_CACHE, room_id)`, which the pipeline publishes after a member event
commits (subscribed in app/wiring.py), so with a shared bus every process drops it.
Bounded: the least recently used rooms are dropped past `max_rooms`. The invited and the left or
banned members of rooms with few joined members (their `m.heroes`: `others`) are kept beside,
read on first use, and dropped with the joined members.

Inside a transaction, `joined_in(t, ...)` reads a missing room through that transaction: taking
a second pool connection while holding one deadlocks PostgreSQL once every connection of the
pool is held by a transaction waiting for another. What it reads is not cached, since the
transaction may see its own uncommitted member events.
Invariant: a read that overlapped an invalidation of its room is not kept, so a list read
before a member event committed can never outlive that event's invalidation.
"""

from __future__ import annotations

from collections import OrderedDict

from bastion.store.database import Database, Queryable
from bastion.store.protocols import MembershipStore

LEFT = ("leave", "ban")
MEMBERS_CACHE = "room_members"  # the cache name in `CacheInvalidated`; keys are room IDs


class RoomMembersCache:
    """room_id -> joined user IDs."""

    def __init__(self, db: Database, memberships: MembershipStore, max_rooms: int = 50_000) -> None:
        self._db = db
        self._memberships = memberships
        self._max_rooms = max_rooms
        self._joined: OrderedDict[str, set[str]] = OrderedDict()
        # room_id -> (invited, left and banned or None: not read yet), for heroes
        self._others: dict[str, tuple[list[str], list[str] | None]] = {}
        self._reading: dict[str, int] = {}  # rooms with a fill in flight -> how many
        self._raced: set[str] = set()  # of those, rooms invalidated meanwhile: fills not kept

    async def joined(self, room_id: str) -> set[str]:
        """The users joined to `room_id` (the returned set must not be modified)."""
        members = self._joined.get(room_id)
        if members is None:
            members, fresh = await self._fill(room_id)
            if not fresh:
                return members
            self._joined[room_id] = members
            if len(self._joined) > self._max_rooms:
                self._joined.popitem(last=False)
        self._joined.move_to_end(room_id)
        return members

    def cached(self, room_id: str) -> set[str] | None:
        """The users joined to `room_id` if cached now, else None (no read: the Redis bus
        expands a room event from another process at once when it can)."""
        members = self._joined.get(room_id)
        if members is not None:
            self._joined.move_to_end(room_id)
        return members

    async def joined_in(self, t: Queryable, room_id: str) -> set[str]:
        """Like `joined`, for a caller inside transaction `t` (see the module docstring)."""
        members = self._joined.get(room_id)
        if members is not None:
            self._joined.move_to_end(room_id)
            return members
        return set(await self._memberships.members(t, room_id, ["join"]))

    async def others(self, room_id: str, *, gone: bool) -> tuple[list[str], list[str]]:
        """(invited, left or banned) users of a room, each in stream order: the `m.heroes` of
        a room with fewer than five other joined members. The left and banned are read only
        when `gone` asks for them; cached like the joined members, invalidated with them."""
        pool = self._others.get(room_id)
        if pool is not None and (pool[1] is not None or not gone):
            return pool[0], pool[1] or []
        self._reading[room_id] = self._reading.get(room_id, 0) + 1
        try:
            invited = await self._memberships.members(self._db, room_id, ["invite"])
            left = await self._memberships.members(self._db, room_id, LEFT) if gone else None
            fresh = room_id not in self._raced
        finally:
            self._done_reading(room_id)
        if fresh:
            self._others[room_id] = (invited, left)
            if len(self._others) > self._max_rooms:
                self._others.pop(next(iter(self._others)))
        return invited, left or []

    def clear(self) -> None:
        """Any room may have changed (invalidations from other processes were missed)."""
        self._joined.clear()
        self._others.clear()
        self._raced.update(self._reading)

    def invalidate(self, room_id: str) -> None:
        """The room's membership changed and committed: read it again when next needed."""
        self._joined.pop(room_id, None)
        self._others.pop(room_id, None)
        if room_id in self._reading:
            self._raced.add(room_id)

    async def _fill(self, room_id: str) -> tuple[set[str], bool]:
        """The joined members, and whether no invalidation of the room overlapped the read."""
        self._reading[room_id] = self._reading.get(room_id, 0) + 1
        try:
            members = set(await self._memberships.members(self._db, room_id, ["join"]))
            return members, room_id not in self._raced
        finally:
            self._done_reading(room_id)

    def _done_reading(self, room_id: str) -> None:
        left = self._reading.pop(room_id) - 1
        if left:
            self._reading[room_id] = left
        else:
            self._raced.discard(room_id)
