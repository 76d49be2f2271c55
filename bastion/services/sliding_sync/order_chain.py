"""The lists' order stored as a small diff against a snapshot, so that a woken request writes a
few hundred bytes instead of the whole sorted list (~60 KB at 1,000 rooms; issue 14).

A connection's order is stored as a chain: a snapshot (the whole `ListOrder`, in its own row,
store/sql/sliding_sync.py) taken at some position B, and at each position N >= B an `OrderDiff`
against that snapshot: the rooms added or re-bumped since B with their bump stamps, the rooms
dropped, the lists whose ranges or passing rooms changed, and `once`/`ended` as they are at N.
The diff is cumulative (against B, not against N-1), so only B's snapshot and N itself must be
kept for N to be read back, and a retry of N reads exactly what N's response computed.

Invariants:
- `diff_of` returns a diff only if applying it to the base gives back exactly the order it was
  asked to store: checked by applying it, or, for an order that re-placed rooms of the previous
  one (a woken request: `_extend`), by construction (the previous diff plus those bumps); when
  neither holds (another request key, too many links or moved rooms, different list names) the
  caller stores a new snapshot.
- `apply` re-places the diff's rooms by `sort_key`, which is the order every `ListOrder` keeps.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping

import msgspec

from bastion.services.sliding_sync.order import ListOrder, StoredList, sort_key

MAX_LINKS = 8  # positions on one snapshot before the next response stores a new one
MAX_MOVED = 256  # rooms re-bumped or dropped since the snapshot before a new one is stored


class OrderDiff(msgspec.Struct, frozen=True, omit_defaults=True):
    """An order as a change of its snapshot (module docstring)."""

    links: int = 0  # positions since the snapshot (0: the snapshot's own position)
    bumps: dict[str, int] = {}  # room_id -> bump stamp, rooms added or re-bumped
    dropped: list[str] = []  # rooms of the snapshot no longer in the order
    lists: dict[str, StoredList] = {}  # the lists that differ from the snapshot's
    once: list[str] = []
    ended: list[str] = []


Extension = tuple[ListOrder, "OrderDiff | None", Mapping[str, int] | None]


def diff_of(
    base: ListOrder, order: ListOrder, links: int, extended: Extension | None = None
) -> OrderDiff | None:
    """`order` as a diff of `base` at `links` positions past it; None when a new snapshot is due.
    `extended`: (the previous order, its diff of `base`, the rooms `order` re-bumped on it):
    the diff is the previous one with those bumps, without comparing every room."""
    if links > MAX_LINKS or base.key != order.key or base.lists.keys() != order.lists.keys():
        return None
    if extended is not None:
        diff = _extend(base, order, links, extended)
        if diff is not None:
            return diff
    bumps: dict[str, int] = {}
    dropped: list[str] = []
    if base.rooms != order.rooms:  # (room_id, bump) entries: set differences run in C
        added = set(order.rooms).difference(base.rooms)
        gone = set(base.rooms).difference(order.rooms)
        if len(added) + len(gone) > 2 * MAX_MOVED:
            return None
        bumps = dict(sorted(added, key=sort_key))
        dropped = sorted({room_id for room_id, _ in gone}.difference(bumps))
    lists = {name: stored for name, stored in order.lists.items() if base.lists[name] != stored}
    diff = OrderDiff(links, bumps, dropped, lists, order.once, order.ended)
    return diff if apply(base, diff) == order else None


def _extend(base: ListOrder, order: ListOrder, links: int, extended: Extension) -> OrderDiff | None:
    """The previous diff plus the rooms re-bumped since (None: compare every room instead).
    Exact by construction: the previous order is `apply(base, previous diff)` (stored only if
    so), `order` is it with `moved` re-placed (ListOrder.moved), and both `apply` and `moved`
    give the rooms sorted by `sort_key`: the same entries, so the same list."""
    previous, before, moved = extended
    if before is None or moved is None or order.key != previous.key:
        return None
    if not moved and order.rooms is not previous.rooms:
        return None
    bumps = {**before.bumps, **moved}
    if len(bumps) + len(before.dropped) > MAX_MOVED:
        return None
    lists = {name: stored for name, stored in order.lists.items() if base.lists[name] != stored}
    return OrderDiff(
        links, dict(sorted(bumps.items(), key=sort_key)), before.dropped, lists, order.once,
        order.ended,
    )  # fmt: skip


def apply(base: ListOrder, diff: OrderDiff) -> ListOrder:
    """The order `diff` describes on `base`."""
    rooms = base.rooms
    if diff.bumps or diff.dropped:
        gone = set(diff.bumps) | set(diff.dropped)
        rooms = [entry for entry in base.rooms if entry[0] not in gone]
        for entry in sorted(diff.bumps.items(), key=sort_key):
            bisect.insort(rooms, entry, key=sort_key)
    lists = {**base.lists, **diff.lists} if diff.lists else base.lists
    return ListOrder(base.key, rooms, lists, diff.once, diff.ended)
