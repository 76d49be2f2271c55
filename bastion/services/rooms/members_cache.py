"""Who is joined to each room, in memory, for choosing whose syncs to wake.

Filled from the database on first use per room and updated by the pipeline after each member
event commits. Bounded: the least recently used rooms are dropped past `max_rooms`.
Inside a transaction, `joined_in(t, ...)` reads a missing room through that transaction: taking
a second pool connection while holding one deadlocks PostgreSQL once every connection of the
pool is held by a transaction waiting for another. What it reads is not cached, since the
transaction may see its own uncommitted member events.
Invariant: only the process that persisted a member event updates its cache, so with several
processes each must receive member events over the shared notifier (scale-out work).
"""

from __future__ import annotations

from collections import OrderedDict

from bastion.store.database import Database, Queryable
from bastion.store.protocols import MembershipStore


class RoomMembersCache:
    """room_id -> joined user IDs."""

    def __init__(self, db: Database, memberships: MembershipStore, max_rooms: int = 50_000) -> None:
        self._db = db
        self._memberships = memberships
        self._max_rooms = max_rooms
        self._joined: OrderedDict[str, set[str]] = OrderedDict()

    async def joined(self, room_id: str) -> set[str]:
        """The users joined to `room_id` (the returned set must not be modified)."""
        members = self._joined.get(room_id)
        if members is None:
            members = set(await self._memberships.members(self._db, room_id, ["join"]))
            self._joined[room_id] = members
            if len(self._joined) > self._max_rooms:
                self._joined.popitem(last=False)
        self._joined.move_to_end(room_id)
        return members

    async def joined_in(self, t: Queryable, room_id: str) -> set[str]:
        """Like `joined`, for a caller inside transaction `t` (see the module docstring)."""
        members = self._joined.get(room_id)
        if members is not None:
            self._joined.move_to_end(room_id)
            return members
        return set(await self._memberships.members(t, room_id, ["join"]))

    def apply(self, room_id: str, user_id: str, membership: str) -> None:
        """Record a committed membership change."""
        members = self._joined.get(room_id)
        if members is None:
            return
        if membership == "join":
            members.add(user_id)
        else:
            members.discard(user_id)
