"""Sliding-sync connections and their positions: what each client sync loop already has.

A connection is named by (user, device, `conn_id`); MSC4186 "Connections". Its `pos` token is
`s<stream>_k<typing>_ss<conn_key>x<seq>_v<version>`: the stream position and typing serial the
response was built up to (so the token is also a valid `from` for /messages and /relations: the
stream token parser reads its leading `s<position>`), the connection's stored memory `seq`, and
the version of the stored row (positions.py).

Invariants:
- A pos is honoured only for the user, device and conn_id it was issued to; anything else
  (unknown, pruned, another device's, malformed) is 400 M_UNKNOWN_POS, so the client restarts.
- The memory as of a seq never changes once issued; a request with pos N reads the memory of N
  and, if it changes anything, stores N+1 after discarding whatever was stored after N (a
  response the client never processed). So a retry of N returns what N's request would have,
  and N's memory is dropped only once the client uses N+1.
- A response that changes nothing keeps the seq (the stream part still moves on).
- No-write answers: a woken response whose only changes are joined rooms it covers, with
  events since the stored position, sent further up the stream (no new room, lazy member,
  config or membership; every list holding the rooms it held, re-placed only; at most
  service._DERIVED_AT_MOST rooms with events since) stores nothing: its pos keeps the seq and
  version and carries `_b<base>`, the stream position the stored memory is exact as of. The
  next request derives the rest: the order by re-placing the rooms with events since `base`
  (incremental.py probes from there), and those rooms' memories, when in the stored scope
  and joined, as sent up to the pos's stream position (service._lifted: under the
  incremental plan's invariant, a room in scope with nothing since it was sent is up to
  date, so this is exact). A response that does write stores those derived memories too. So
  every pos (the one before, the no-write one) stays valid for a retry, from any process and
  after a restart; a no-write answer from kept memory reads nothing (a pos another process
  replaced meanwhile is then answered from what this process sent for it, and refused at
  the first write). The process that gave a no-write answer keeps what it derived
  (`Derived`: the order as stored, the rooms re-bumped since, the memories sent since), so
  its next request on that pos starts from the answer's memory as if it had been stored:
  it probes from the pos, not from `base`, and builds only the rooms with news since; the
  next response that writes stores all of it.
- A device has at most MAX_CONNECTIONS_PER_DEVICE connections: a new one drops the least
  recently used beyond that (its pos then gets M_UNKNOWN_POS).
- Memory lives in the database (store/sql/sliding_sync.py), so any process, and the server
  after a restart, continues a connection. Each stored position row has a random version, which
  the pos carries (positions.py): a pos whose row was replaced is M_UNKNOWN_POS.
- This process also keeps, per connection, the memory as of the pos it issued last (`_latest`,
  keyed by that exact token): the next request with it reads nothing back. It writes only if the
  position it answered from is still the row of that version (`advance_position`'s guard, or
  `position_version` in the transaction), else M_UNKNOWN_POS; so memory kept here is never
  trusted over a database that another process has moved on.
- A woken response (the order's snapshot kept, at most _INLINE_AT_MOST rooms changed since the
  last rows were written) is stored in one statement: the new position row, carrying the
  changed rooms' memories (newer than their sliding_sync_rooms rows), replacing the position
  it acknowledges. Any other response writes those memories to rows of their own.
- Opening a connection from the database reads its position (the scope and the lists' order,
  order.py: one query), never its rooms' memories: `room_memories` reads those of the rooms a
  response builds (those in the position row first), so a woken request decodes only the
  memories of the rooms with news.
- The order is stored as a diff against a snapshot of it (order_chain.py): a position's row holds
  the diff and the snapshot's seq B; the snapshot is a row of its own at seq -B, kept while a
  position on it is (store/sql/sliding_sync.py). A position whose snapshot is missing, or is not
  the one it names, opens without an order (the next response computes the lists in full).
"""

from __future__ import annotations

import itertools
import secrets
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import msgspec

from bastion.clock import Clock
from bastion.services.principal import Requester
from bastion.services.sliding_sync.connection_memory import ConnectionMemory, Derived
from bastion.services.sliding_sync.extensions.base import ExtensionScope
from bastion.services.sliding_sync.order import ListOrder
from bastion.services.sliding_sync.order_chain import OrderDiff, diff_of
from bastion.services.sliding_sync.positions import (
    ENCODER,
    OrderChain,
    Position,
    StoredScope,
    decode_memories,
    parse_pos,
    read_scope,
    unknown_pos,
)
from bastion.services.sliding_sync.room_model import RoomMemory
from bastion.store.database import Database, UniqueViolation
from bastion.store.protocols.sliding_sync import ConnectionRow, NewPosition, SlidingSyncStore

# A device keeps at most this many connections (each conn_id is one): starting one more drops
# the least recently used, so a client cannot grow the stored memory without bound.
MAX_CONNECTIONS_PER_DEVICE = 100
_TOUCH_EVERY_MS = 3_600_000  # last_used_ts is refreshed at most hourly on unchanged responses
_SELECT_AT_MOST = 200  # memories of more rooms than this are read all at once
# A woken response keeps the memories it changed in its position row (carried forward, so one
# statement stores the response) until they are this many; then they go to sliding_sync_rooms.
_INLINE_AT_MOST = 64
_CACHED_CONNECTIONS = 512  # connections whose latest memory this process keeps (LRU)


class Connections:
    """Opens connections at a pos and stores what each response sent."""

    def __init__(
        self, db: Database, store: SlidingSyncStore, clock: Clock, *, max_idle_ms: int
    ) -> None:
        self._db = db
        self._store = store
        self._clock = clock
        self._max_idle_ms = max_idle_ms
        # conn_key -> (the pos last issued, the memory as of it): a request on the process that
        # served the previous one reads nothing back; the pos (stream, typing, seq) is the key,
        # and writes check the position row's version, so another process's answer is noticed.
        self._latest: OrderedDict[str, tuple[str, ConnectionMemory]] = OrderedDict()
        self._tickets = itertools.count(1)

    async def open(self, requester: Requester, conn_id: str, pos: str | None) -> ConnectionMemory:
        """The connection's memory at `pos`; a new, empty connection when there is none."""
        if pos is None:
            now = self._clock.now_ms()
            # Starting one may drop the device's others (same conn_id, least recently used).
            for key in [
                k
                for k, (_, m) in self._latest.items()
                if m.row.device_id == requester.device_id and m.row.user_id == requester.user_id
            ]:
                del self._latest[key]
            row = ConnectionRow(
                secrets.token_hex(6), requester.user_id, requester.device_id, conn_id, now, now
            )
            return ConnectionMemory(row, 0, None, None)
        position = parse_pos(pos)
        latest = self._latest.get(position.conn_key)
        if (
            latest is not None
            and latest[0] == pos
            and self._clock.now_ms() - latest[1].row.last_used_ts < self._max_idle_ms
        ):
            kept = latest[1]
            if (kept.row.user_id, kept.row.device_id, kept.row.conn_id) != (
                requester.user_id,
                requester.device_id,
                conn_id,
            ):
                raise unknown_pos()
            self._latest.move_to_end(position.conn_key)
            return kept.advanced(position, ticket=next(self._tickets))
        stored = await self._store.find_position(self._db, position.conn_key, position.seq)
        if (
            stored is None
            or position.version not in (0, stored.version)
            or (
                stored.connection.user_id,
                stored.connection.device_id,
                stored.connection.conn_id,
            )
            != (requester.user_id, requester.device_id, conn_id)
        ):
            raise unknown_pos()
        scope, order, chain, raw = read_scope(stored.scope, stored.order_snapshot)
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
            positions=stored.positions,
            version=stored.version,
            ticket=next(self._tickets),
            inline=dict(raw.rooms),
            fast=raw.fast,
            base=position.base,
        )

    async def room_memories(
        self, memory: ConnectionMemory, room_ids: Sequence[str]
    ) -> dict[str, RoomMemory]:
        """What the connection remembers of `room_ids` (absent: never sent): those kept in the
        position row, then one query, the memories of the others only (every room's when they
        are many); none when this process already knows them all."""
        rooms, inline = memory.rooms, memory.inline
        kept = {r: bytes(inline[r]) for r in room_ids if r not in rooms and r in inline}
        rooms.update(decode_memories(kept))
        if memory.seq and not memory.complete:
            wanted = [r for r in room_ids if r not in rooms and r not in memory.absent]
            if wanted:
                conn_key = memory.row.conn_key
                selected = wanted if len(wanted) <= _SELECT_AT_MOST else None
                raw = await self._store.room_memories(self._db, conn_key, memory.seq, selected)
                # what the position row keeps is newer than the rows
                found = {r: m for r, m in raw.items() if r not in rooms and r not in inline}
                rooms.update(decode_memories(found))
                if selected is None:
                    memory.complete = True
                else:
                    memory.absent.update(r for r in wanted if r not in rooms)
        return {r: rooms[r] for r in room_ids if r in rooms}

    async def save(
        self,
        memory: ConnectionMemory,
        changed: Mapping[str, RoomMemory],
        scope: ExtensionScope,
        *,
        order: ListOrder,
        upto: int,
        ephemeral: int,
        moved: Mapping[str, int] | None = None,
        derivable: bool = False,
    ) -> str:
        """Store the response's changes (if any) and return its pos. A woken response (same
        order snapshot, few changed rooms) is one statement: its position row, carrying the
        changed memories (`advance_position`); otherwise the changed rooms' memories (a row
        each) and the position (one row: scope and order) in a transaction."""
        conn_key = memory.row.conn_key
        now = self._clock.now_ms()
        same = memory.order == order and list(scope.subscriptions) == list(
            memory.scope.subscriptions if memory.scope is not None else ()
        )
        if memory.seq and not changed and same:
            same_pos = Position(upto, ephemeral, conn_key, memory.seq, memory.version, memory.base)
            return await self._unchanged(memory, same_pos)
        if derivable and memory.seq and now - memory.row.last_used_ts <= _TOUCH_EVERY_MS:
            token = Position(upto, ephemeral, conn_key, memory.seq)
            return self._no_write(memory, token, (changed, scope, order, moved))
        sibling = self._sibling(memory)
        if sibling is not None and sibling[1].ticket > memory.ticket:
            return sibling[0]  # a later request from the same pos stored first: it counts
        seq = memory.seq + 1
        changed, previous, moved = memory.with_derived(changed, moved)
        chain, diff, snapshot = _order_diff(memory.chain, previous, order, moved)
        base = seq if chain is None else chain.base_seq
        # A request from the same pos that stored here first (an earlier one) is replaced, and
        # its pos stays valid (it names this answer's memory, as the client's latest counts).
        version = sibling[1].version if sibling is not None else secrets.randbits(40) + 1
        token = Position(upto, ephemeral, conn_key, seq, version)
        rooms = dict(memory.rooms)
        rooms.update(changed)
        encoded = {room_id: msgspec.Raw(ENCODER.encode(m)) for room_id, m in changed.items()}
        inline = memory.inline | encoded
        kept = memory.advanced(
            token, scope=scope, order=order, rooms=rooms, version=version, superseded=True,
            positions=2, absent=memory.absent - set(changed), derived=None,
        )  # fmt: skip
        fast = sibling is None and self._fast_allowed(memory, inline, now)
        if snapshot is None and chain is not None and fast:
            stored = StoredScope(
                list(scope.subscriptions), base=base, diff=diff, rooms=inline, fast=True
            )
            scope_json = ENCODER.encode(stored).decode()
            position = NewPosition(conn_key, seq, scope_json, [], now, version=version)
            if await self._advance(memory, position):
                kept.inline, kept.fast = inline, True
                kept.chain = OrderChain(base, chain.base, diff.links, diff)
                self._keep(token, kept)
                return token.token()
            newest = False  # another request of the connection stored meanwhile
        else:
            newest = memory.newest and not memory.fast
        # The memories kept in the position row go to rows of their own at this position.
        stored = StoredScope(list(scope.subscriptions), base=base, diff=diff)
        position = NewPosition(
            conn_key,
            seq,
            ENCODER.encode(stored).decode(),
            [(room_id, bytes(m).decode()) for room_id, m in inline.items()],
            now,
            snapshot,
            version,
        )
        # A position stored by the one-statement path acknowledged nothing: the full
        # acknowledgement (not the `newest` shortcut) drops what it left.
        stored_as = await self._store_general(memory, position, newest=newest)
        if isinstance(stored_as, str):
            return stored_as
        if stored_as.version != version:
            token = Position(upto, ephemeral, conn_key, seq, stored_as.version)
            kept.version = stored_as.version
        kept.chain = (
            OrderChain(seq, order, 0, diff)
            if chain is None
            else OrderChain(base, chain.base, diff.links, diff)
        )
        if memory.seq and now - memory.row.last_used_ts > _TOUCH_EVERY_MS:  # touched
            kept.row = msgspec.structs.replace(memory.row, last_used_ts=now)
        kept.positions, kept.superseded = (2, True) if memory.seq else (1, False)
        kept.inline, kept.fast = {}, False
        kept.complete = memory.complete or not memory.seq  # a new connection had no memories
        self._keep(token, kept)
        return token.token()

    async def _unchanged(self, memory: ConnectionMemory, token: Position) -> str:
        """A response that changed nothing keeps the seq (only the stream part moves on)."""
        now = self._clock.now_ms()
        if memory.superseded:  # the client holds this pos: drop the others
            async with self._db.transaction() as txn:
                await self._store.acknowledge(txn, token.conn_key, memory.seq)
        if now - memory.row.last_used_ts > _TOUCH_EVERY_MS:
            await self._store.touch(self._db, token.conn_key, now)
            self._latest.pop(token.conn_key, None)
        else:
            self._keep(token, memory.advanced(token, superseded=False, positions=1))
        return token.token()

    def _no_write(
        self,
        memory: ConnectionMemory,
        token: Position,
        response: tuple[
            Mapping[str, RoomMemory], ExtensionScope, ListOrder, Mapping[str, int] | None
        ],
    ) -> str:
        """A response whose changes the next request derives (module docstring): the pos of
        the same stored memory, marked with the stream position that memory is exact as of.
        This process keeps what it derived (`Derived`), so its next request on this pos
        starts from the response's memory instead of deriving it again from `base`."""
        changed, scope, order, moved = response
        base = memory.base if memory.base is not None else memory.since
        token = Position(
            token.upto, token.ephemeral, token.conn_key, memory.seq, memory.version, base
        )
        before = memory.derived
        derived = Derived(
            memory.order if before is None else before.stored_order,
            {**(before.moved if before is not None else {}), **(moved or {})},
            {**(before.rooms if before is not None else {}), **changed},
        )
        memory.rooms.update(changed)  # this request's own copy (`open`), done with
        kept = memory.advanced(
            token, newest=memory.newest, order=order, scope=scope, rooms=memory.rooms,
            derived=derived,
        )  # fmt: skip
        self._keep(token, kept)
        return token.token()

    def _sibling(self, memory: ConnectionMemory) -> tuple[str, ConnectionMemory] | None:
        """What another request of this connection from the same pos stored here (its pos and
        memory); None when there is none. "Clients MAY change the request body if they cancel
        a request and send a new one with the same pos": the later request counts."""
        latest = self._latest.get(memory.row.conn_key)
        if latest is None or not memory.seq or latest[1].seq != memory.seq + 1:
            return None
        return latest

    def _fast_allowed(
        self, memory: ConnectionMemory, inline: Mapping[str, object], now: int
    ) -> bool:
        """May this response be stored in one statement (`advance_position`)? Only a position
        the connection stored last, with at most one older one, and no hourly touch due."""
        return (
            memory.seq > 0
            and memory.newest
            and memory.positions in (1, 2)
            and len(inline) <= _INLINE_AT_MOST
            and now - memory.row.last_used_ts <= _TOUCH_EVERY_MS
        )

    async def _advance(self, memory: ConnectionMemory, position: NewPosition) -> bool:
        """`advance_position`; False (nothing written) when the connection moved on meanwhile
        (a concurrent request of it stored first, or its older position is gone)."""
        try:
            return await self._store.advance_position(
                self._db, memory.seq, memory.version, position, replace=memory.positions == 2
            )
        except UniqueViolation:
            return False

    def _keep(self, token: Position, memory: ConnectionMemory) -> None:
        """Remember `memory` as the connection's latest (the least recently used go first)."""
        self._latest[token.conn_key] = (token.token(), memory)
        self._latest.move_to_end(token.conn_key)
        while len(self._latest) > _CACHED_CONNECTIONS:
            self._latest.popitem(last=False)

    async def _store_general(
        self, memory: ConnectionMemory, position: NewPosition, *, newest: bool
    ) -> NewPosition | str:
        """`_store_position`, again (replacing) when a concurrent request stored first."""
        try:
            try:
                return await self._store_position(memory, position, newest=newest)
            except UniqueViolation:
                # A concurrent request of the same connection (a retry the client sent without
                # waiting) stored first: this one, the client's latest, replaces it.
                return await self._store_position(memory, position, newest=False)
        except _Overtaken as overtaken:
            return overtaken.token

    async def _store_position(
        self, memory: ConnectionMemory, position: NewPosition, *, newest: bool
    ) -> NewPosition | str:
        """`newest`: nothing was stored after the pos (store.acknowledge drops less). What was
        stored (with the version of an earlier request from the same pos that it replaces), or
        the pos of a later one that stored first (then nothing is written)."""
        async with self._db.transaction() as txn:
            settled = self._settled(memory, position)
            if isinstance(settled, str):
                return settled
            if memory.seq:
                if memory.cached and (
                    await self._store.position_version(txn, position.conn_key, memory.seq)
                    != memory.version
                ):  # another process answered this pos meanwhile
                    raise unknown_pos()
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
            settled = self._settled(memory, settled)
            if isinstance(settled, str):
                raise _Overtaken(settled)  # rolls back what this transaction did
            await self._store.insert_position(txn, settled)
        return settled

    def _settled(self, memory: ConnectionMemory, position: NewPosition) -> NewPosition | str:
        """`position`, with the version of what an earlier request from the same pos stored
        here meanwhile (its pos stays valid); the pos of a later one that did."""
        sibling = self._sibling(memory)
        if sibling is None:
            return position
        if sibling[1].ticket > memory.ticket:
            return sibling[0]
        return msgspec.structs.replace(position, version=sibling[1].version)


class _Overtaken(Exception):
    """A later request of the connection from the same pos stored first: its pos counts."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


def _order_diff(
    chain: OrderChain | None,
    previous: ListOrder | None,
    order: ListOrder,
    moved: Mapping[str, int] | None,
) -> tuple[OrderChain | None, OrderDiff, str | None]:
    """(the chain kept, `order` as its diff, None) or, when a new snapshot is due, (None, an
    empty diff, the snapshot's JSON). `previous`: the order stored at the pos (the chain's
    diff describes it); `moved`: the rooms `order` re-bumped on it."""
    if chain is not None:
        extended = (previous, chain.diff, moved) if previous is not None else None
        diff = diff_of(chain.base, order, chain.links + 1, extended)
        if diff is not None:
            return chain, diff, None
    return None, OrderDiff(once=order.once, ended=order.ended), ENCODER.encode(order).decode()
