"""A sliding-sync response in the shape its client reads.

`RoomResult.payload` uses the merged proposal's names. The merged dialect gets it as is, plus
each room's `lists`, and `lists.{name}.count`. The pre-merge dialect (Element X,
matrix-rust-sdk; Synapse's shape) gets `invite_state` for `stripped_state`,
`unstable_expanded_timeline` for `expanded_timeline`, an `ops` block per list and `txn_id`
echoed. `count` is always sent; `ops` only when the list's rooms in range (or their order)
differ from what the client holds (`Draft.sent_lists`, the previous response's):
- the same rooms, only re-ordered (a new message bumps its room to the top), in a list of one
  range, on a woken request whose ranges are the previous one's (an incremental plan) and
  whose pos names the memory the client holds: at most `_MOVES_AT_MOST` pairs of MSC3575's
  `{"op": "DELETE", "index": i}` then `{"op": "INSERT", "index": j, "room_id": r}` (absolute
  list positions). DELETE leaves slot i empty; INSERT into a taken slot j shifts the entries
  between j and the nearest empty slot toward it. Each pair moves one room up (j < i), found by
  walking the new order against a copy of the client's list and applying each pair to it, so
  the ops give back the new order exactly. A pair is used only when its DELETE's slot is
  strictly the nearest empty one (past the list's end, or before a range not starting at 0,
  may be empty too), so it also reads the same as remove-then-insert on an array;
- otherwise (rooms entered or left, more moves, several ranges, a first response, a pos
  answered without writing, `_b`, whose stored lists may be older than the client's, unless
  `Draft.sent_exact` says they are the client's): one `SYNC`
  operation per requested range, with the room IDs in it, in list order (~50 KB at 1,000
  rooms). matrix-rust-sdk no longer reads `ops` (client-side sorting); Element X sends
  `ranges` and ignores them, so a cheap `ops` block is what matters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bastion.json_types import JsonObject
from bastion.services.sliding_sync.extensions.base import ExtensionScope
from bastion.services.sliding_sync.lists import ListResult
from bastion.services.sliding_sync.order import ListOrder
from bastion.services.sliding_sync.request import Dialect, SlidingSyncRequest
from bastion.services.sliding_sync.room_model import RoomMemory

_PRE_MERGE_NAMES = {
    "stripped_state": "invite_state",
    "expanded_timeline": "unstable_expanded_timeline",
}


@dataclass(slots=True)
class Draft:
    """A response before it has its `pos`: what it sends and what the connection remembers."""

    upto: int
    ephemeral: int
    lists: dict[str, ListResult]
    scope: ExtensionScope  # the rooms this response covers (stored with its pos)
    rooms: dict[str, tuple[JsonObject, list[str]]] = field(default_factory=dict)
    extensions: JsonObject = field(default_factory=dict)
    changed: dict[str, RoomMemory] = field(default_factory=dict)
    # each list's rooms in range as the client has them (the previous response's scope)
    sent_lists: Mapping[str, Sequence[str]] = field(default_factory=dict)
    order: ListOrder | None = None  # the lists' order, stored with the pos (order.py)
    # rooms re-bumped since the previous response's order (incremental plans only)
    moved: dict[str, int] | None = None
    # what changed is derived by the next request: no need to store it (connection.py)
    derivable: bool = False
    # is `sent_lists` exactly what the client holds? Not at a pos answered without writing
    # that this process did not answer (its stored memory may be older than the client's)
    sent_exact: bool = False


def shape(request: SlidingSyncRequest, draft: Draft, pos: str) -> JsonObject:
    """The response body for `request`'s dialect."""
    if request.dialect is Dialect.MERGED:
        return {
            "pos": pos,
            "lists": {name: {"count": result.count} for name, result in draft.lists.items()},
            "rooms": {
                room_id: {**payload, "lists": names} if names else payload
                for room_id, (payload, names) in draft.rooms.items()
            },
            "extensions": draft.extensions,
        }
    # DELETE/INSERT only against lists the client holds, in the same ranges (an incremental
    # plan runs only for the previous request's lists and ranges: `moved` is set)
    movable = draft.moved is not None and draft.sent_exact
    body: JsonObject = {
        "pos": pos,
        "lists": {
            name: _pre_merge_list(result, draft.sent_lists.get(name), movable)
            for name, result in draft.lists.items()
        },
        "rooms": {
            room_id: {_PRE_MERGE_NAMES.get(key, key): value for key, value in payload.items()}
            for room_id, (payload, _) in draft.rooms.items()
        },
        "extensions": draft.extensions,
    }
    if request.txn_id is not None:
        body["txn_id"] = request.txn_id
    return body


def _pre_merge_list(result: ListResult, sent: Sequence[str] | None, movable: bool) -> JsonObject:
    if sent is not None:
        held = sent if isinstance(sent, list) else list(sent)
        if held == result.room_ids():  # a comparison in C
            return {"count": result.count}  # the client has these rooms, in this order
    if movable and sent is not None and len(result.ranges) == 1:
        (start, _), room_ids = result.ranges[0]
        moves = list_moves(sent, room_ids, start=start)
        if moves is not None:
            ops: list[JsonObject] = []
            for old, new in moves:
                ops.append({"op": "DELETE", "index": start + old})
                ops.append({"op": "INSERT", "index": start + new, "room_id": room_ids[new]})
            return {"count": result.count, "ops": ops}
    ops = [
        {"op": "SYNC", "range": [start, end], "room_ids": room_ids}
        for (start, end), room_ids in result.ranges
        if start <= end
    ]
    return {"count": result.count, "ops": ops} if ops else {"count": result.count}


# More moves than this in one list: a SYNC of its range instead.
_MOVES_AT_MOST = 8


def list_moves(
    held: Sequence[str], wanted: list[str], *, start: int = 0, at_most: int = _MOVES_AT_MOST
) -> list[tuple[int, int]] | None:
    """The (from, to) positions, relative to the range's `start`, of the DELETE/INSERT pairs
    that turn `held` (the client's rooms in the range) into `wanted` (module docstring); None
    when the two are not the same rooms, need more than `at_most` pairs, or a pair's DELETE
    slot would not be the nearest empty one. Costs list comparisons in C, `list.index` per
    move and a Python step per room only over the unchanged prefix before each move."""
    if len(held) != len(wanted):
        return None
    current = list(held)
    moves: list[tuple[int, int]] = []
    to = 0
    while current != wanted:  # invariant: current[:to] == wanted[:to]
        if len(moves) == at_most:
            return None
        while current[to] == wanted[to]:
            to += 1
        room_id = wanted[to]
        try:
            old = current.index(room_id, to + 1)
        except ValueError:
            return None  # a room entered the range
        if start > 0 and old - to > to:
            return None  # the slot before the range (start - 1) is as near: ambiguous
        del current[old]
        current.insert(to, room_id)  # what the client does: DELETE old, INSERT to
        moves.append((old, to))
        to += 1
    return moves
