"""A sliding-sync response in the shape its client reads.

`RoomResult.payload` uses the merged proposal's names. The merged dialect gets it as is, plus
each room's `lists`, and `lists.{name}.count`. The pre-merge dialect (Element X,
matrix-rust-sdk; Synapse's shape) gets `invite_state` for `stripped_state`,
`unstable_expanded_timeline` for `expanded_timeline`, an `ops` block per list (one `SYNC`
operation per requested range, with the room IDs in it, in list order) and `txn_id` echoed.
`ops` is sent only when the list's rooms in range (or their order) differ from what the
previous response gave the client: at 1,000 rooms it is ~50 KB, and matrix-rust-sdk no longer
reads it; `count` is always sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bastion.services.sliding_sync.extensions.base import ExtensionScope
from bastion.services.sliding_sync.lists import ListResult
from bastion.services.sliding_sync.order import ListOrder
from bastion.services.sliding_sync.request import Dialect, SlidingSyncRequest
from bastion.services.sliding_sync.room_model import RoomMemory

JsonObject = dict[str, Any]
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
    body: JsonObject = {
        "pos": pos,
        "lists": {
            name: _pre_merge_list(result, draft.sent_lists.get(name))
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


def _pre_merge_list(result: ListResult, sent: Sequence[str] | None) -> JsonObject:
    if sent is not None and list(sent) == result.room_ids():
        return {"count": result.count}  # the client has these rooms, in this order
    ops = [
        {"op": "SYNC", "range": [start, end], "room_ids": room_ids}
        for (start, end), room_ids in result.ranges
        if start <= end
    ]
    return {"count": result.count, "ops": ops} if ops else {"count": result.count}
