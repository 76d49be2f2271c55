"""Sliding-sync connections and their positions: what each client sync loop already has.

A connection is named by (user, device, `conn_id`); MSC4186 "Connections". Its `pos` token is
`s<stream>_k<typing>_ss<conn_key>x<seq>`: the stream position and typing serial the response
was built up to (so the token is also a valid `from` for /messages and /relations: the stream
token parser reads its leading `s<position>`), and the connection's stored memory `seq`.

Invariants:
- A pos is honoured only for the user, device and conn_id it was issued to; anything else
  (unknown, pruned, another device's, malformed) is 400 M_UNKNOWN_POS, so the client restarts.
- The memory as of a seq never changes once issued; a request with pos N reads the memory of N
  and, if it changes anything, stores N+1 after discarding whatever was stored after N (a
  response the client never processed). So a retry of N returns what N's request would have,
  and N's memory is dropped only once the client uses N+1.
- A response that changes nothing keeps the seq (the stream part still moves on).
- A device has at most MAX_CONNECTIONS_PER_DEVICE connections: a new one drops the least
  recently used beyond that (its pos then gets M_UNKNOWN_POS).
- Memory lives in the database (store/sql/sliding_sync.py), so any process, and the server
  after a restart, continues a connection.
- Opening a connection reads its position (the scope and the lists' order, order.py: one query),
  never its rooms' memories: `room_memories` reads those of the rooms a response builds, so a
  woken request decodes only the memories of the rooms with news.
- The order is stored as a diff against a snapshot of it (order_chain.py): a position's row holds
  the diff and the snapshot's seq B; the snapshot is a row of its own at seq -B, kept while a
  position on it is (store/sql/sliding_sync.py). A position whose snapshot is missing, or is not
  the one it names, opens without an order (the next response computes the lists in full).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import msgspec

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.services.principal import Requester
from bastion.services.sliding_sync.extensions.base import ExtensionScope
from bastion.services.sliding_sync.order import ListOrder
from bastion.services.sliding_sync.order_chain import OrderDiff, apply, diff_of
from bastion.services.sliding_sync.room_model import RoomConfig, RoomMemory
from bastion.store.database import Database, UniqueViolation
from bastion.store.protocols.sliding_sync import ConnectionRow, NewPosition, SlidingSyncStore

_POS = re.compile(r"s(\d{1,18})_k(\d{1,18})_ss([0-9a-f]{12})x(\d{1,18})")
# A device keeps at most this many connections (each conn_id is one): starting one more drops
# the least recently used, so a client cannot grow the stored memory without bound.
MAX_CONNECTIONS_PER_DEVICE = 100
_TOUCH_EVERY_MS = 3_600_000  # last_used_ts is refreshed at most hourly on unchanged responses
_encoder = msgspec.json.Encoder()
_SELECT_AT_MOST = 200  # memories of more rooms than this are read all at once


class _StoredMemory(msgspec.Struct):
    """A stored RoomMemory with its config left raw: the rooms of a list share one config, so
    each distinct config is decoded once (a frozenset of ~20 selectors is most of the cost)."""

    sent_upto: int
    config: msgspec.Raw
    lazy_members: list[str]
    membership: str


_memory_decoder = msgspec.json.Decoder(_StoredMemory)
_config_decoder = msgspec.json.Decoder(RoomConfig)


def _decode_memories(raw: Mapping[str, str]) -> dict[str, RoomMemory]:
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


class _Scope(msgspec.Struct, frozen=True, omit_defaults=True):
    """A position's stored scope: the subscribed rooms and the lists' order, from which each
    list's rooms in range follow (`lists`: those rooms, in positions stored before the order
    was; then no woken request takes the incremental path)."""

    subscriptions: list[str]
    lists: dict[str, list[str]] = {}
    order: ListOrder | None = None  # positions stored before the order was a diff
    base: int = 0  # the seq of the order's snapshot (0: no diff)
    diff: OrderDiff | None = None


_scope_decoder = msgspec.json.Decoder(_Scope)
_order_decoder = msgspec.json.Decoder(ListOrder)


@dataclass(frozen=True, slots=True)
class OrderChain:
    """The snapshot a position's order is a diff of, and how many positions past it it is."""

    base_seq: int
    base: ListOrder
    links: int


@dataclass(frozen=True, slots=True)
class Position:
    """What a `pos` token names."""

    upto: int
    ephemeral: int
    conn_key: str
    seq: int

    def token(self) -> str:
        return f"s{self.upto}_k{self.ephemeral}_ss{self.conn_key}x{self.seq}"


def parse_pos(raw: str) -> Position:
    """The position a `pos` names; 400 M_UNKNOWN_POS when it is not one of ours."""
    match = _POS.fullmatch(raw)
    if match is None:
        raise _unknown_pos()
    return Position(int(match[1]), int(match[2]), match[3], int(match[4]))


@dataclass(slots=True)
class ConnectionMemory:
    """What the connection has as of the request's pos (empty for a new connection)."""

    row: ConnectionRow
    seq: int  # 0: new, nothing stored yet
    since: int | None  # the stream position the client has (None: its first request)
    since_ephemeral: int | None
    scope: ExtensionScope | None = None  # the rooms the previous response covered
    superseded: bool = False  # positions other than this one are still stored
    newest: bool = False  # nothing was stored after this position
    order: ListOrder | None = None  # the lists' order the previous response computed
    chain: OrderChain | None = None  # the snapshot `order` was stored against
    # memories read so far (Connections.room_memories), by room; absent: not read yet
    rooms: dict[str, RoomMemory] = field(default_factory=dict)


class Connections:
    """Opens connections at a pos and stores what each response sent."""

    def __init__(
        self, db: Database, store: SlidingSyncStore, clock: Clock, *, max_idle_ms: int
    ) -> None:
        self._db = db
        self._store = store
        self._clock = clock
        self._max_idle_ms = max_idle_ms

    async def open(self, requester: Requester, conn_id: str, pos: str | None) -> ConnectionMemory:
        """The connection's memory at `pos`; a new, empty connection when there is none."""
        if pos is None:
            now = self._clock.now_ms()
            row = ConnectionRow(
                secrets.token_hex(6), requester.user_id, requester.device_id, conn_id, now, now
            )
            return ConnectionMemory(row, 0, None, None)
        position = parse_pos(pos)
        stored = await self._store.find_position(self._db, position.conn_key, position.seq)
        if stored is None or (
            stored.connection.user_id,
            stored.connection.device_id,
            stored.connection.conn_id,
        ) != (requester.user_id, requester.device_id, conn_id):
            raise _unknown_pos()
        scope, order, chain = _scope(stored.scope, stored.order_snapshot)
        return ConnectionMemory(
            stored.connection,
            position.seq,
            position.upto,
            position.ephemeral,
            scope,
            stored.positions > 1,
            stored.newest == position.seq,
            order,
            chain,
        )

    async def room_memories(
        self, memory: ConnectionMemory, room_ids: Sequence[str]
    ) -> dict[str, RoomMemory]:
        """What the connection remembers of `room_ids` (absent: never sent): one query, the
        memories of those rooms only (every room's when they are many)."""
        wanted = [r for r in room_ids if r not in memory.rooms]
        if memory.seq and wanted:
            conn_key = memory.row.conn_key
            selected = wanted if len(wanted) <= _SELECT_AT_MOST else None
            raw = await self._store.room_memories(self._db, conn_key, memory.seq, selected)
            memory.rooms.update(_decode_memories(raw))
        return {r: memory.rooms[r] for r in room_ids if r in memory.rooms}

    async def save(
        self,
        memory: ConnectionMemory,
        changed: Mapping[str, RoomMemory],
        scope: ExtensionScope,
        *,
        order: ListOrder,
        upto: int,
        ephemeral: int,
    ) -> str:
        """Store the response's changes (if any) and return its pos: the changed rooms'
        memories (a row each) and the position (one row: scope and order)."""
        conn_key = memory.row.conn_key
        now = self._clock.now_ms()
        same = memory.order == order and list(scope.subscriptions) == list(
            memory.scope.subscriptions if memory.scope is not None else ()
        )
        if memory.seq and not changed and same:
            if memory.superseded:  # the client holds this pos: drop the others
                async with self._db.transaction() as txn:
                    await self._store.acknowledge(txn, conn_key, memory.seq)
            if now - memory.row.last_used_ts > _TOUCH_EVERY_MS:
                await self._store.touch(self._db, conn_key, now)
            return Position(upto, ephemeral, conn_key, memory.seq).token()
        seq = memory.seq + 1
        chain = memory.chain
        diff = None if chain is None else diff_of(chain.base, order, chain.links + 1)
        snapshot: str | None = None
        if chain is None or diff is None:  # a new snapshot, at this position
            diff = OrderDiff(once=order.once, ended=order.ended)
            base, snapshot = seq, _encoder.encode(order).decode()
        else:
            base = chain.base_seq
        stored = _Scope(list(scope.subscriptions), base=base, diff=diff)
        position = NewPosition(
            conn_key,
            seq,
            _encoder.encode(stored).decode(),
            [(room_id, _encoder.encode(m).decode()) for room_id, m in changed.items()],
            now,
            snapshot,
        )
        try:
            await self._store_position(memory, position, newest=memory.newest)
        except UniqueViolation:
            # A concurrent request of the same connection (a retry the client sent without
            # waiting) stored first: this one, the client's latest, replaces it.
            await self._store_position(memory, position, newest=False)
        return Position(upto, ephemeral, conn_key, seq).token()

    async def _store_position(
        self, memory: ConnectionMemory, position: NewPosition, *, newest: bool
    ) -> None:
        """`newest`: nothing was stored after the pos (store.acknowledge drops less)."""
        async with self._db.transaction() as txn:
            if memory.seq:
                await self._store.acknowledge(txn, position.conn_key, memory.seq, newest=newest)
                if position.now_ms - memory.row.last_used_ts > _TOUCH_EVERY_MS:
                    await self._store.touch(txn, position.conn_key, position.now_ms)
            else:
                cutoff = position.now_ms - self._max_idle_ms
                await self._store.delete_unused(txn, unused_since_ms=cutoff)
                await self._store.replace_connection(txn, memory.row)
                row = memory.row
                await self._store.delete_oldest_of_device(
                    txn, row.user_id, row.device_id, keep=MAX_CONNECTIONS_PER_DEVICE
                )
            await self._store.insert_position(txn, position)


def _scope(
    raw: str, snapshot: tuple[int, str] | None
) -> tuple[ExtensionScope, ListOrder | None, OrderChain | None]:
    """The stored scope, and the order: the scope's own (older positions) or its diff applied
    to the snapshot (None when the snapshot is not the one the diff was made against)."""
    stored = _scope_decoder.decode(raw)
    order, chain = stored.order, None
    if stored.diff is not None and snapshot is not None and snapshot[0] == stored.base:
        chain = OrderChain(stored.base, _order_decoder.decode(snapshot[1]), stored.diff.links)
        order = apply(chain.base, stored.diff)
    if order is None:
        return ExtensionScope(stored.lists, stored.subscriptions), None, None
    lists = {name: result.room_ids() for name, result in order.results().items()}
    return ExtensionScope(lists, stored.subscriptions), order, chain


def _unknown_pos() -> MatrixError:
    return MatrixError(400, Errcode.UNKNOWN_POS, "Unknown or expired pos; start again")
