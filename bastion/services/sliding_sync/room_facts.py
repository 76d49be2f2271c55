"""What sliding sync reads once for all of a user's rooms, rather than room by room.

A response builds many rooms at the same `upto` (Element X asks for every room it has), and the
next response of the same user asks again for nearly the same. Two kinds of facts are kept:

* Room positions (bump stamp, newest event), per user: a snapshot at some `upto`. A newer `upto`
  refreshes only the rooms that had events since the snapshot (one query whose cost follows the
  new events; none when a woken request's /sync probe already named them: `carry_over`), then
  reads the rooms it lacks in one query. Positions at or before a persisted
  `upto` never change, except when retention purges events (a bump stamp may then stay higher
  than it is until the room next has activity: the spec lets it be opaque). A request for an
  older `upto` than the snapshot's (a retry) reads without touching the snapshot.
* Per-response facts, keyed by (user, upto): the user's `m.direct` rooms and the position of
  its last change, and (for initial rooms) the member and unread counts of all joined rooms, in
  one query each. When /sync's probe says the window since the previous response holds no
  receipt or no account data of the user, `carry_over` fills them without a read. A later
  write (a receipt, `m.direct`) is seen by the next response, whose `upto` is newer.

Both are bounded (least recently used dropped) and only ever hold what the database says, so
any process may serve any request.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from bastion.json_types import JsonObject
from bastion.services.push.notifications import NotificationService
from bastion.services.sync.rooms import pick_heroes
from bastion.store.database import Database
from bastion.store.protocols import MembershipStore
from bastion.store.protocols.push import UnreadCount
from bastion.store.protocols.sliding_sync_rooms import RoomPositions, SlidingRoomStore
from bastion.store.protocols.sync_probe import SyncNews

DIRECT = "m.direct"
# MSC4186 "bump_stamp": the "proper" activity types, and the unstable names clients still send
# (polls and live location from Element X).
BUMP_TYPES = (
    "m.room.create", "m.room.message", "m.room.encrypted", "m.sticker", "m.call.invite",
    "m.poll.start", "m.beacon_info", "org.matrix.msc3381.poll.start",
    "org.matrix.msc3672.beacon_info",
)  # fmt: skip
MAX_ENTRIES = 64  # (user, upto) entries: a few responses in flight per active user
MAX_USERS = 512  # position snapshots (about 100 bytes per room)
MAX_CATCH_UP = 200_000  # a snapshot further behind than this is read again from scratch


@dataclass(frozen=True, slots=True)
class FactStores:
    """The stores the facts come from."""

    rooms: SlidingRoomStore
    memberships: MembershipStore


@dataclass(slots=True)
class _Snapshot:
    upto: int
    rooms: dict[str, RoomPositions] = field(default_factory=dict)
    unjoined: set[str] = field(default_factory=set)  # rooms of `rooms` not joined when read


@dataclass(slots=True)
class _Entry:
    direct: set[str] | None = None  # the rooms of `m.direct`
    direct_at: int = 0  # the position of its last change
    counts: dict[str, dict[str, int]] | None = None  # joined rooms: membership -> count
    unread: dict[str, JsonObject] | None = None  # joined rooms: unread notification fields
    receipts: dict[str, int] | None = None  # the user's own receipts after `receipts_after`
    receipts_after: int = 0


class RoomFacts:
    """Facts about a user's rooms, read in bulk and kept (module docstring)."""

    def __init__(
        self, db: Database, stores: FactStores, notifications: NotificationService
    ) -> None:
        self._db = db
        self._stores = stores
        self._notifications = notifications
        self._entries: OrderedDict[tuple[str, int], _Entry] = OrderedDict()
        self._snapshots: OrderedDict[str, _Snapshot] = OrderedDict()

    def _entry(self, user_id: str, upto: int) -> _Entry:
        key = (user_id, upto)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
            if len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)
        self._entries.move_to_end(key)
        return entry

    async def positions(
        self, user_id: str, room_ids: Sequence[str], upto: int
    ) -> dict[str, RoomPositions]:
        """room_id -> positions at `upto` (rooms without a membership of the user left out)."""
        snapshot = await self._snapshot(user_id, upto)
        if snapshot is None:  # older than the snapshot: read, keep nothing
            return await self._stores.rooms.room_positions(
                self._db, user_id, room_ids, BUMP_TYPES, upto
            )
        missing = [r for r in room_ids if r not in snapshot.rooms]
        found: dict[str, RoomPositions] = {}
        if missing:
            read_at = snapshot.upto  # >= upto: newer positions only make a build look closer
            found = await self._stores.rooms.room_positions(
                self._db, user_id, missing, BUMP_TYPES, read_at
            )
            # Kept only if no other response moved the snapshot on during the read (its rooms
            # that had events since would be missing the refresh).
            if snapshot.upto == read_at and self._snapshots.get(user_id) is snapshot:
                snapshot.rooms.update(found)
                snapshot.unjoined.update(r for r, p in found.items() if not p.joined)
        known = {r: snapshot.rooms[r] for r in room_ids if r in snapshot.rooms}
        return known | found

    async def _snapshot(self, user_id: str, upto: int) -> _Snapshot | None:
        snapshot = self._snapshots.get(user_id)
        if snapshot is not None and snapshot.upto > upto:
            return None
        if snapshot is None or upto - snapshot.upto > MAX_CATCH_UP:
            snapshot = _Snapshot(upto)
        elif snapshot.upto < upto:
            moved = await self._stores.rooms.rooms_with_activity(
                self._db, user_id, after=snapshot.upto, upto=upto
            )
            for room_id in moved:  # read again when next asked for
                snapshot.rooms.pop(room_id, None)
                snapshot.unjoined.discard(room_id)
            snapshot.upto = max(snapshot.upto, upto)  # another response may be further on
        self._snapshots[user_id] = snapshot
        self._snapshots.move_to_end(user_id)
        if len(self._snapshots) > MAX_USERS:
            self._snapshots.popitem(last=False)
        return snapshot

    def carry_over(
        self,
        user_id: str,
        window: tuple[int, int],
        news: SyncNews,
        places: Mapping[str, tuple[int, int]],
    ) -> None:
        """What /sync's probe found unchanged in (since, upto] (its False is exact), called only
        when the user's memberships did not move: the position snapshot at `since` moves to
        `upto` without a read: the rooms with events (`places`: the probe's joined rooms with
        events in a window ending at `upto` and holding (since, upto], each with its newest
        event and newest bump-type event there, 0 for none) take those, keeping their bump
        stamp when no bump-type event came; those the user is not joined to are dropped (read
        again when asked for). No receipt at all (the user's own since are none), no account
        data of the user (the `m.direct` read for the response at `since`, if kept, holds at
        `upto`). Saves those reads."""
        since, upto = window
        entry = self._entry(user_id, upto)
        snapshot = self._snapshots.get(user_id)
        if snapshot is not None and snapshot.upto == since < upto:
            # The joined rooms with events in the window are `places` (the probe's, exact since
            # the user's memberships did not move); other rooms' events it does not report.
            for room_id in snapshot.unjoined:
                snapshot.rooms.pop(room_id, None)
            snapshot.unjoined.clear()
            for room_id, (newest, bumped) in places.items():
                known = snapshot.rooms.pop(room_id, None)
                # Events only append: the window holds the room's newest (of a bump type too).
                if bumped:
                    snapshot.rooms[room_id] = RoomPositions(bumped, newest)
                elif known is not None:
                    snapshot.rooms[room_id] = RoomPositions(known.bump, newest)
            snapshot.upto = upto  # so `positions` needs no `rooms_with_activity` read
        if not news.receipts and entry.receipts is None:
            entry.receipts, entry.receipts_after = {}, since
        before = self._entries.get((user_id, since))
        if not news.account_data and entry.direct is None and before is not None:
            entry.direct, entry.direct_at = before.direct, before.direct_at

    async def prime_unread(
        self, user_id: str, upto: int, rooms: Collection[str], rows: Sequence[UnreadCount]
    ) -> None:
        """/sync's probe read the unread-count rows of the joined rooms with events in the
        window (`rooms`): their counts at `upto` without a query of their own."""
        if not rooms:
            return
        entry = self._entry(user_id, upto)
        found = await self._notifications.unread(
            user_id, list(rooms), by_thread=False, prefetched=(rooms, rows)
        )
        entry.unread = found if entry.unread is None else entry.unread | found

    async def heroes(self, user_id: str, room_ids: Sequence[str]) -> dict[str, list[str]]:
        """room_id -> /sync's `m.heroes` (`pick_heroes`) of each room: one read for all."""
        members = await self._stores.rooms.room_members(self._db, room_ids)
        heroes: dict[str, list[str]] = {}
        for room_id, records in members.items():
            by: dict[str, list[str]] = {"join": [], "invite": [], "gone": []}
            for member, membership in records:
                key = "gone" if membership in ("leave", "ban") else membership
                by.setdefault(key, []).append(member)
            heroes[room_id] = pick_heroes(
                by["join"], user_id, invited=by["invite"], gone=by["gone"]
            )
        return heroes

    async def read_since(
        self, user_id: str, room_id: str, after: int, since: int, upto: int
    ) -> bool:
        """Did the user write a receipt in the room after `after` (their unread counts may have
        moved)? Read once per response, for the receipts after `since` (the client's pos): a
        room outside every range when its counts moved gets them with its next news."""
        return (await self.own_receipts(user_id, since, upto)).get(room_id, 0) > after

    async def own_receipts(self, user_id: str, since: int, upto: int) -> dict[str, int]:
        """room_id -> position of the user's newest receipt in (since, upto]: one read per
        response."""
        entry = self._entry(user_id, upto)
        if entry.receipts is None or entry.receipts_after != since:
            entry.receipts = await self._stores.rooms.own_receipts(
                self._db, user_id, after=since, upto=upto
            )
            entry.receipts_after = since
        return entry.receipts

    async def is_dm(self, user_id: str, room_id: str, upto: int) -> bool:
        """Is the room in the user's `m.direct` account data?"""
        rooms, _ = await self._direct(user_id, upto)
        return room_id in rooms

    async def direct_changed(self, user_id: str, after: int, upto: int) -> bool:
        """Did the user's `m.direct` change after `after`? One read per response whatever the
        `after` of each room (a change written after `upto` counts: `is_dm` is read as it is)."""
        return await self.direct_changed_at(user_id, upto) > after

    async def direct_changed_at(self, user_id: str, upto: int) -> int:
        """The position of the user's last `m.direct` change (0: never)."""
        _, changed_at = await self._direct(user_id, upto)
        return changed_at

    async def _direct(self, user_id: str, upto: int) -> tuple[set[str], int]:
        entry = self._entry(user_id, upto)
        if entry.direct is None:
            found = await self._stores.rooms.global_account_data(self._db, user_id, DIRECT)
            content, entry.direct_at = found if found is not None else ({}, 0)
            entry.direct = _direct_rooms(content)
        return entry.direct, entry.direct_at

    async def counts(self, user_id: str, room_id: str, upto: int, *, bulk: bool) -> dict[str, int]:
        """membership -> count (join, invite) of a joined room; `bulk`: read those of all the
        user's joined rooms at once (an initial response), else this room's alone."""
        entry = self._entry(user_id, upto)
        if entry.counts is not None and room_id in entry.counts:
            return entry.counts[room_id]
        if not bulk:
            found = await self._stores.memberships.member_counts(self._db, [room_id])
            return found.get(room_id, {})
        joined = await self._joined_rooms(user_id, room_id)
        entry.counts = await self._stores.memberships.member_counts(self._db, joined)
        for joined_room in joined:
            entry.counts.setdefault(joined_room, {})
        return entry.counts[room_id]

    async def unread(self, user_id: str, room_id: str, upto: int, *, bulk: bool) -> JsonObject:
        """The unread notification counts of a joined room, as /sync computes them; `bulk` as
        for `counts`."""
        entry = self._entry(user_id, upto)
        if entry.unread is not None and room_id in entry.unread:
            return entry.unread[room_id]
        if not bulk:
            found = await self._notifications.unread(user_id, [room_id], by_thread=False)
            return found[room_id]
        joined = await self._joined_rooms(user_id, room_id)
        entry.unread = await self._notifications.unread(user_id, joined, by_thread=False)
        return entry.unread[room_id]

    async def _joined_rooms(self, user_id: str, room_id: str) -> list[str]:
        records = await self._stores.memberships.rooms_of_user(self._db, user_id, ["join"])
        return list({r.room_id for r in records} | {room_id})


def _direct_rooms(content: JsonObject) -> set[str]:
    """The room IDs of an `m.direct` content ({user_id: [room_id, ...]}); junk is skipped."""
    rooms: set[str] = set()
    for room_ids in content.values():
        if isinstance(room_ids, list):
            rooms.update(r for r in room_ids if isinstance(r, str))
    return rooms
