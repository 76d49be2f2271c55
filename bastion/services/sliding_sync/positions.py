"""What a sliding-sync `pos` names and how a position is stored (connection.py uses them): the
token, the position row's scope (subscriptions, the order as a diff of a snapshot, and the room
memories a woken response carried in the row), and the room memories' JSON form.

Invariants: a `pos` is `s<stream>_k<typing>_ss<conn_key>x<seq>[_v<version>][_b<base>]` (the
leading `s<stream>` is what the stream-token parser reads); the version (hex) names the stored
row the pos was issued with, so a pos whose row was replaced (another process answered a retry
of the previous pos) is refused, never served from another answer's memory. `_b<base>` marks a
pos answered without writing (connection.py "no-write answers"): `seq`'s stored memory is exact
as of stream position `base`, and the rooms it covers with events since are derived.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.services.sliding_sync.extensions.base import ExtensionScope
from bastion.services.sliding_sync.order import ListOrder
from bastion.services.sliding_sync.order_chain import OrderDiff, apply
from bastion.services.sliding_sync.room_model import RoomConfig, RoomMemory

ENCODER = msgspec.json.Encoder()

_POS = re.compile(
    r"s(\d{1,18})_k(\d{1,18})_ss([0-9a-f]{12})x(\d{1,18})(?:_v([0-9a-f]{1,10}))?(?:_b(\d{1,18}))?"
)


class StoredMemory(msgspec.Struct):
    """A stored RoomMemory with its config left raw: the rooms of a list share one config, so
    each distinct config is decoded once (a frozenset of ~20 selectors is most of the cost)."""

    sent_upto: int
    config: msgspec.Raw
    lazy_members: list[str]
    membership: str


_memory_decoder = msgspec.json.Decoder(StoredMemory)
_config_decoder = msgspec.json.Decoder(RoomConfig)


def decode_memories(raw: Mapping[str, str | bytes]) -> dict[str, RoomMemory]:
    configs: dict[bytes, RoomConfig] = {}
    rooms: dict[str, RoomMemory] = {}
    for room_id, value in raw.items():
        stored = _memory_decoder.decode(value)
        key = bytes(stored.config)
        config = configs.get(key)
        if config is None:
            config = configs[key] = _config_decoder.decode(stored.config)
        lazy = frozenset(stored.lazy_members)
        rooms[room_id] = RoomMemory(stored.sent_upto, config, lazy, stored.membership)
    return rooms


class StoredScope(msgspec.Struct, frozen=True, omit_defaults=True):
    """A position's stored scope: the subscribed rooms and the lists' order, from which each
    list's rooms in range follow (`lists`: those rooms, in positions stored before the order
    was; then no woken request takes the incremental path)."""

    subscriptions: list[str]
    lists: dict[str, list[str]] = {}
    order: ListOrder | None = None  # positions stored before the order was a diff
    base: int = 0  # the seq of the order's snapshot (0: no diff)
    diff: OrderDiff | None = None
    # room memories changed since the last position that wrote sliding_sync_rooms rows (newer
    # than those rows); `fast`: stored by `advance_position` (no rows, no acknowledgement)
    rooms: dict[str, msgspec.Raw] = {}
    fast: bool = False


_scope_decoder = msgspec.json.Decoder(StoredScope)
_order_decoder = msgspec.json.Decoder(ListOrder)


@dataclass(frozen=True, slots=True)
class OrderChain:
    """The snapshot a position's order is a diff of, and how many positions past it it is."""

    base_seq: int
    base: ListOrder
    links: int
    diff: OrderDiff | None = None  # the diff of base the position's order is


@dataclass(frozen=True, slots=True)
class Position:
    """What a `pos` token names."""

    upto: int
    ephemeral: int
    conn_key: str
    seq: int
    version: int = 0  # of the stored position row (0: a pos issued before versions)
    # A pos answered without writing (connection.py): the stream position `seq`'s memory is
    # exact as of; its rooms with events since then that it covers are sent up to `upto`.
    base: int | None = None

    def token(self) -> str:
        token = f"s{self.upto}_k{self.ephemeral}_ss{self.conn_key}x{self.seq}"
        if self.version:
            token = f"{token}_v{self.version:x}"
        return token if self.base is None else f"{token}_b{self.base}"


def parse_pos(raw: str) -> Position:
    """The position a `pos` names; 400 M_UNKNOWN_POS when it is not one of ours."""
    match = _POS.fullmatch(raw)
    if match is None:
        raise unknown_pos()
    version = int(match[5], 16) if match[5] else 0
    base = int(match[6]) if match[6] else None
    upto = int(match[1])
    if base is not None and base > upto:
        raise unknown_pos()
    return Position(upto, int(match[2]), match[3], int(match[4]), version, base)


def read_scope(
    raw: str, snapshot: tuple[int, str] | None
) -> tuple[ExtensionScope, ListOrder | None, OrderChain | None, StoredScope]:
    """The stored scope, and the order: the scope's own (older positions) or its diff applied
    to the snapshot (None when the snapshot is not the one the diff was made against)."""
    stored = _scope_decoder.decode(raw)
    order, chain = stored.order, None
    if stored.diff is not None and snapshot is not None and snapshot[0] == stored.base:
        base = _order_decoder.decode(snapshot[1])
        chain = OrderChain(stored.base, base, stored.diff.links, stored.diff)
        order = apply(chain.base, stored.diff)
    if order is None:
        return ExtensionScope(stored.lists, stored.subscriptions), None, None, stored
    lists = {name: result.room_ids() for name, result in order.results().items()}
    return ExtensionScope(lists, stored.subscriptions), order, chain, stored


def unknown_pos() -> MatrixError:
    return MatrixError(400, Errcode.UNKNOWN_POS, "Unknown or expired pos; start again")
