"""The order of a connection's lists, stored with each `pos`, so that a woken request re-places
only the rooms that moved instead of reading and sorting every room (issue 14: a woken request
costs in proportion to the rooms with news, not to the rooms in range).

`ListOrder` is what a response computed: every room its lists draw from, newest first with its
bump stamp; per list, its ranges and the rooms passing its filters (None: the list has no
filters); the rooms listed only once (left since the previous response: the next one computes
the lists in full, without them); and `key`, a digest of the request's lists and subscriptions
it was computed for.

Invariants:
- The order is exact as of the response's `upto`, and as of every later `upto` a pos of the same
  seq carries (a response that keeps the seq computed the same order).
- A room's bump stamp changes only with an event of the room (joined) or a membership change of
  the user (others); so between two requests, rooms without events keep their relative order, and
  `moved` (re-placing the rooms with events, by their new bump stamps) gives the order a full
  computation would, provided the user's memberships and account data (filters, hidden invites)
  did not change; service.py falls back to the full computation otherwise.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Mapping
from operator import itemgetter
from typing import TypeVar

import msgspec

from bastion.services.sliding_sync.lists import ListResult
from bastion.services.sliding_sync.request import ListFilters, SlidingSyncRequest
from bastion.services.sliding_sync.room_model import RoomConfig

UNFILTERED = ListFilters()
_INDEXES: dict[int, tuple[ListOrder, dict[str, int]]] = {}  # id -> (order, its index)
_INDEXES_KEPT = 64
_ROOM_ID = itemgetter(0)
K = TypeVar("K")
V = TypeVar("V")
_IDS: dict[int, tuple[ListOrder, list[str]]] = {}  # id -> (order, its room IDs)
_REPLACED_AT_MOST = 32  # more re-placed rooms than this: one pass over the order
# (id(lists), id(subscriptions)) -> (the two, their request_key)
_KEYS: dict[tuple[int, int], tuple[object, object, str]] = {}


class StoredList(msgspec.Struct, frozen=True):
    """One list of the order: its ranges (None: every room) and its rooms passing the filters
    (None: the list has no filters, every room passes)."""

    ranges: list[tuple[int, int]] | None
    passing: list[str] | None


class ListOrder(msgspec.Struct, frozen=True):
    """The lists' order as a response computed it (module docstring)."""

    key: str
    rooms: list[tuple[str, int]]  # (room_id, bump_stamp), newest first, then by room ID
    lists: dict[str, StoredList]
    once: list[str] = []  # rooms listed only until the next response (left since the last)
    ended: list[str] = []  # rooms listed although left (kicks, bans): forgetting one drops it

    def index(self) -> dict[str, int]:
        """room_id -> bump stamp (built once per order: an order never changes)."""
        found = _INDEXES.get(id(self))
        if found is None or found[0] is not self:
            return self._keep_index(dict(self.rooms))
        return found[1]

    def _keep_index(self, index: dict[str, int]) -> dict[str, int]:
        _put_bounded(_INDEXES, id(self), (self, index))
        return index

    def room_ids(self) -> list[str]:
        """Every room's ID, in order (built once per order; not to be modified)."""
        found = _IDS.get(id(self))
        if found is None or found[0] is not self:
            return self._keep_ids(list(map(_ROOM_ID, self.rooms)))
        return found[1]

    def _keep_ids(self, room_ids: list[str]) -> list[str]:
        _put_bounded(_IDS, id(self), (self, room_ids))
        return room_ids

    def results(self) -> dict[str, ListResult]:
        """Each list's count and the rooms in its ranges."""
        out: dict[str, ListResult] = {}
        for name, stored in self.lists.items():
            if stored.passing is None:
                room_ids = self.room_ids()
            else:
                passing = set(stored.passing)
                room_ids = [room_id for room_id, _ in self.rooms if room_id in passing]
            ranges = stored.ranges if stored.ranges is not None else [(0, len(room_ids) - 1)]
            out[name] = ListResult(
                len(room_ids),
                tuple(((start, end), _slice(room_ids, start, end)) for start, end in ranges),
            )
        return out

    def moved(
        self, bumps: Mapping[str, int], passing: Mapping[str, Mapping[str, bool]]
    ) -> ListOrder:
        """This order with `bumps` (room_id -> new bump stamp; rooms of the order only)
        re-placed, and per list the rooms whose filters now give `passing[name][room_id]`."""
        old = self.index()
        changed = {r: b for r, b in bumps.items() if old.get(r) != b}
        rooms, room_ids = self.rooms, None
        if changed:
            rooms, room_ids = _re_placed(self, old, changed)
        lists = dict(self.lists)
        for name, decided in passing.items():
            stored = lists[name]
            if stored.passing is None or not decided:
                continue
            now = set(stored.passing)
            now.update(r for r, ok in decided.items() if ok)
            now.difference_update(r for r, ok in decided.items() if not ok)
            lists[name] = StoredList(stored.ranges, sorted(now))
        order = ListOrder(self.key, rooms, lists, self.once, self.ended)
        if changed:  # the same rooms, some with new stamps: a copy of the index (in C)
            index = dict(old)
            index.update(changed)
            order._keep_index(index)
            if room_ids is not None:
                order._keep_ids(room_ids)
        elif rooms is self.rooms:
            order._keep_index(old)
            order._keep_ids(self.room_ids())
        return order


def _re_placed(
    order: ListOrder, index: Mapping[str, int], changed: Mapping[str, int]
) -> tuple[list[tuple[str, int]], list[str] | None]:
    """`order`'s rooms with `changed` re-placed, and their IDs (None: to be listed again).

    When they are few (a woken request moves a few rooms of a thousand), each room is found by
    bisection at its old bump stamp and taken out of copies of both lists at that position, then
    put in at its new place in both: moving pointers, where a pass comparing or copying every
    entry would touch each of a thousand objects the request has not touched (the cost of a
    woken request's order was mostly those cache misses). Else, or when a room is not where its
    stamp says, a pass over them all."""
    if len(changed) > _REPLACED_AT_MOST:
        return _re_sorted(order.rooms, changed), None
    rooms, room_ids = list(order.rooms), list(order.room_ids())
    for room_id in changed:
        bump = index.get(room_id)
        if bump is None:
            continue  # not in the order: a new room
        at = bisect.bisect_left(rooms, sort_key((room_id, bump)), key=sort_key)
        if at == len(rooms) or rooms[at][0] != room_id:
            return _re_sorted(order.rooms, changed), None
        del rooms[at]
        del room_ids[at]
    for entry in sorted(changed.items(), key=sort_key):
        at = bisect.bisect_left(rooms, sort_key(entry), key=sort_key)
        rooms.insert(at, entry)
        room_ids.insert(at, entry[0])
    return rooms, room_ids


def _re_sorted(rooms: list[tuple[str, int]], changed: Mapping[str, int]) -> list[tuple[str, int]]:
    """`rooms` without the rooms of `changed`, which are then put in at their new places."""
    out = [entry for entry in rooms if entry[0] not in changed]
    for entry in sorted(changed.items(), key=sort_key):
        bisect.insort(out, entry, key=sort_key)
    return out


def _slice(room_ids: list[str], start: int, end: int) -> list[str]:
    """`room_ids[start:end + 1]`, the list itself (not copied) when that is all of it."""
    return room_ids if start <= 0 and end >= len(room_ids) - 1 else room_ids[start : end + 1]


def sort_key(entry: tuple[str, int]) -> tuple[int, str]:
    """Newest first (greatest bump stamp), then by room ID."""
    return (-entry[1], entry[0])


def request_key(request: SlidingSyncRequest) -> str:
    """A digest of what decides the lists and the rooms' configs: each list's ranges, filters
    and config, and the subscriptions. Stable across processes (sets are sorted). Kept for
    the parsed lists and subscriptions (request.py parses a body once: Element X sends the
    same body on every long-poll), which never change."""
    ident = (id(request.lists), id(request.subscriptions))
    kept = _KEYS.get(ident)
    if kept is not None and kept[0] is request.lists and kept[1] is request.subscriptions:
        return kept[2]
    key = _digest(request)
    _put_bounded(_KEYS, ident, (request.lists, request.subscriptions, key))
    return key


def _put_bounded(cache: dict[K, V], key: K, value: V) -> None:
    """`cache[key] = value`, dropping the oldest entries beyond `_INDEXES_KEPT` (what is kept
    holds its key objects, so an `id` in a key is not reused while its entry lives)."""
    cache[key] = value
    while len(cache) > _INDEXES_KEPT:
        del cache[next(iter(cache))]


def _digest(request: SlidingSyncRequest) -> str:
    lists = [
        [name, wanted.ranges, _filters(wanted.filters), _config(wanted.config)]
        for name, wanted in sorted(request.lists.items())
    ]
    subscriptions = [[r, _config(c)] for r, c in sorted(request.subscriptions.items())]
    return hashlib.sha256(msgspec.json.encode([lists, subscriptions])).hexdigest()[:24]


def _filters(f: ListFilters) -> list[object]:
    return [
        f.is_dm, f.is_encrypted, f.is_invite, f.room_types, f.not_room_types, f.spaces, f.tags,
        f.not_tags,
    ]  # fmt: skip


def _config(config: RoomConfig) -> list[object]:
    return [config.timeline_limit, sorted(config.required_state), sorted(config.excluded)]
