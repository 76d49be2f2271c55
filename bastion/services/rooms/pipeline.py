"""The event pipeline: every room event the server creates is written here, and only here.

Three ways in, one path: `send` (one event into an existing room), `create_room` (a room's
create event and its initial events) and `append_batch` (many events, one transaction). For
each event, in order:
1. `check` of every event hook (services/event_hooks.py), before the room's send lock and the
   transaction; `create_room` and `append_batch` check all their events before writing any. A
   hook may return a replacement draft (DLP redaction): from then on, that is the event.
2. Inside one transaction: read the room's end and the state the auth rules need (current
   state tables, never a replay), build the signed PDU, check the room version's auth rules,
   insert the event, `record` of every hook (relations, push, search, ...), make a redaction
   take effect (services/rooms/redaction.py), update current state and memberships (with
   `forget_on_leave`, a local user's leave or ban also forgets the room for them, as /forget
   does), and move the room's end with a compare-and-set. If another writer moved the end
   first, the transaction rolls back and the event is rebuilt on the new end.
   The room's end is read with `open_room` (with the state and the stored txn IDs, one
   statement): on PostgreSQL its row stays locked until commit, so writers to one room queue
   there even from different processes, and the end, depth and current state they read are
   the last writer's (a read whose snapshot predates the lock is detected and redone, see
   `SqlRoomStore.open_room`). An event's stream position must be above
   the position of the room's end: a single send takes its position only once it holds the
   room's row, above the end it read there, so the stream order of a room's events is the order
   of its history (prev_events) on every process, with no retry; a batch allocates first, and a
   position another process's later one overtook is given back and the batch retried above it.
3. After commit, and only then: the members cache learns a membership change, the syncs of the
   users the event concerns (the room's joined members, a membership change's target) are woken,
   then `committed` of every hook runs. Callers never wake anyone themselves.
   The call returns once this process's readers may read the event (`wait_readable`: at once
   in one process; with several, when the peers' promises have passed it), so a client that
   sends and then syncs sees what it sent (services/rooms/announce.py).

Group commit (services/rooms/send_queue.py): a plain send (no state key, not a redaction, no
`replaces`, no `also`) that finds its room's lock taken queues, and the next lock holder writes
every queued send in one transaction (one room read, one write of the events and the room's
end, one commit), each still built, authorised, positioned and answered on its own, in the same
order as one by one. A plain send alone takes the same path, as a group of one.

Its own bookkeeping is the same for every state type (current state; the `state_value` column,
whose types `store/records.py` declares), plus memberships, which auth and every read stand on.

Invariants: transactions never nest (the pipeline opens each one itself); stream positions stay
in flight until their transaction ends (see store/stream.py).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, ExitStack
from dataclasses import dataclass

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.events.auth_rules import AuthError, auth_event_keys, check_auth
from bastion.events.builder import (
    EventDraft,
    Placement,
    ServerIdentity,
    build_pdu,
    room_id_from_create_event_id,
)
from bastion.events.canonical import check_json_values
from bastion.events.model import StoredEvent
from bastion.events.types import EventType, Membership
from bastion.pubsub.base import Bus
from bastion.services.event_hooks import EventContext, EventHook
from bastion.services.keyed_locks import KeyedLocks
from bastion.services.members_cache import RoomMembersCache
from bastion.services.rooms.announce import Announcer
from bastion.services.rooms.pipeline_parts import (
    AuthRulesRefusal,
    Built,
    RoomMovedError,
    StateChangedError,
    Written,
    auth_event,
    authorise,
    encoded,
    groupable,
    require_current,
    stored,
    too_busy,
)
from bastion.services.rooms.redaction import take_effect
from bastion.services.rooms.send_queue import SendQueue
from bastion.store.database import Database, Queryable, Transaction
from bastion.store.protocols import EventStore, MembershipStore, RoomStore, StateKey, StateStore
from bastion.store.protocols.rooms import OpenedRoom
from bastion.store.records import NewEvent, RoomRecord, SendTxn
from bastion.store.stream import PositionAllocator

__all__ = ["AuthRulesRefusal", "EventPipeline", "PipelineStores", "StateChangedError"]


_MAX_ATTEMPTS = 20

# Writes what a new room needs besides its events (directory entry, alias), in its transaction.
RoomSetup = Callable[[Queryable, str], Awaitable[None]]
# Writes what must commit with one sent event (an admin action's audit record), in its transaction.
AlsoWrite = Callable[[Queryable, StoredEvent], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PipelineStores:
    """The stores the pipeline writes."""

    rooms: RoomStore
    events: EventStore
    state: StateStore
    memberships: MembershipStore


class EventPipeline:
    """Builds, authorises, persists and announces room events."""

    def __init__(  # noqa: PLR0913 - its collaborators and one setting
        self,
        db: Database,
        stores: PipelineStores,
        *,
        positions: PositionAllocator,
        bus: Bus,
        members: RoomMembersCache,
        clock: Clock,
        identity: ServerIdentity,
        hooks: Sequence[EventHook],
        forget_on_leave: bool = False,
    ) -> None:
        """`forget_on_leave`: the `[rooms] forget_on_leave` setting (spec v1.18
        `m.forget_forced_upon_leave`)."""
        self._db = db
        self._forget_on_leave = forget_on_leave
        self._room_locks = KeyedLocks()
        self._stores = stores
        self._positions = positions
        self._clock = clock
        self._identity = identity
        self._hooks = tuple(hooks)
        self._queue = SendQueue(self, positions)
        self._announcer = Announcer(bus, members, hooks)

    @property
    def clock(self) -> Clock:
        """The clock events are stamped with."""
        return self._clock

    @property
    def server_name(self) -> str:
        return self._identity.server_name

    async def send(
        self,
        room_id: str,
        draft: EventDraft,
        *,
        txn: SendTxn | None = None,
        replaces: str | None = None,
        also: AlsoWrite | None = None,
    ) -> StoredEvent:
        """Append one event to an existing room; idempotent per `txn`.

        `also(t, event)` runs in the event's transaction once it is written: what must commit
        with the event or not at all, such as the audit record of an admin action.

        With `replaces`, the draft's state key must still hold that event when the event is
        appended, else StateChangedError and nothing is written (a compare-and-set on state).
        Writers to one room in this process queue on a per-room lock, so they never race each
        other (on PostgreSQL they would otherwise collide on the room's end and rebuild); the
        compare-and-set still guards against other processes. A known `txn` returns the event
        it stored then, with no hook called after `check`.
        """
        draft = await self._check(room_id, draft)
        if replaces is None and also is None and groupable(draft):
            return await self._queue.send(room_id, draft, txn)
        async with self.room_lock(room_id):
            result = await self.send_locked(room_id, draft, txn, replaces=replaces, also=also)
        if isinstance(result, StoredEvent):
            return result  # a replayed txn: nothing stored, no hook called
        await self.announce([result])
        await self._positions.wait_readable(result.event.stream_ordering)
        return result.event

    def queued_sends(self, room_id: str) -> int:
        """How many plain sends into the room wait to be taken into a group (send_queue.py)."""
        return self._queue.queued(room_id)

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        return self._db.transaction()

    def room_lock(self, room_id: str) -> asyncio.Lock:
        """The per-room send lock of this process (writers to one room queue on it)."""
        return self._room_locks.lock(room_id)

    async def send_locked(
        self,
        room_id: str,
        draft: EventDraft,
        txn: SendTxn | None,
        *,
        replaces: str | None = None,
        also: AlsoWrite | None = None,
    ) -> Written | StoredEvent:
        """`send`'s transaction, the room lock held: the written event, or the event a known
        `txn` stored then. Nothing is announced yet (see `announce`)."""
        above = 0
        for _ in range(_MAX_ATTEMPTS):
            try:
                # The position is taken once the room's row is locked, above its end, and
                # stays in flight until the transaction has ended (the stack closes after
                # it): writers to one room, from any process, get positions in lock order.
                with ExitStack() as in_flight:
                    take = self.position_taker(in_flight, above)
                    async with self._db.transaction() as t:
                        opened = await self.open_room(t, room_id, [draft], [txn] if txn else [])
                        if txn is not None and txn in opened.stored:
                            return opened.stored[txn]
                        written = await self._append(
                            t, room_id, draft, take, txn=txn, replaces=replaces, opened=opened
                        )
                        if also is not None:
                            await also(t, written.event)
                return written
            except RoomMovedError as moved:
                above = max(above, moved.end_position)
        raise too_busy()

    def position_taker(self, in_flight: ExitStack, floor: int) -> Callable[[int], int]:
        """`take(room end)`: a new position above the room's end and `floor`, in flight until
        `in_flight` closes (after the transaction has ended)."""

        def take(end_position: int) -> int:
            allocation = self._positions.allocate(above=max(floor, end_position))
            [position] = in_flight.enter_context(allocation)
            return position

        return take

    async def append_batch(self, items: Sequence[tuple[str, EventDraft]]) -> list[StoredEvent]:
        """Append `(room_id, draft)` items in one transaction: all are stored or none is.

        Takes no room lock: when another writer moves one of the rooms' ends meanwhile, the whole
        batch is rebuilt.
        """
        items = [(room_id, await self._check(room_id, draft)) for room_id, draft in items]
        above = 0
        for _ in range(_MAX_ATTEMPTS):
            try:
                with self._positions.allocate(len(items), above=above) as positions:
                    async with self._db.transaction() as t:
                        await self._lock_rooms(t, {room_id for room_id, _ in items})
                        written = [
                            await self._append(t, room_id, draft, position)
                            for (room_id, draft), position in zip(items, positions, strict=True)
                        ]
            except RoomMovedError as moved:
                above = max(above, moved.end_position)
                continue
            break
        else:
            raise too_busy()
        await self.announce(written)
        await self._positions.wait_readable(
            max((w.event.stream_ordering for w in written), default=0)
        )
        return [w.event for w in written]

    async def create_room(
        self, drafts: Sequence[EventDraft], room_version: str, *, is_public: bool,
        setup: RoomSetup,
    ) -> list[StoredEvent]:  # fmt: skip
        """Write a room: its row, the create event `drafts[0]`, `setup(t, room_id)`, then the
        other drafts in order, in one transaction; returns the events."""
        drafts = [await self._check(None, draft) for draft in drafts]
        with self._positions.allocate(len(drafts)) as positions:
            async with self._db.transaction() as t:
                create = await self._create(
                    t, drafts[0], room_version, positions[0], is_public=is_public
                )
                room_id = create.event.room_id
                await setup(t, room_id)
                written = [create]
                for draft, position in zip(drafts[1:], positions[1:], strict=True):
                    written.append(await self._append(t, room_id, draft, position))
        await self.announce(written)
        await self._positions.wait_readable(positions[-1])
        return [w.event for w in written]

    async def _check(self, room_id: str | None, draft: EventDraft) -> EventDraft:
        """Every hook's `check`, in order; a hook's replacement draft is what the next sees."""
        for hook in self._hooks:
            replacement = await hook.check(room_id, draft)
            if replacement is None:
                continue
            if (replacement.type, replacement.sender, replacement.state_key) != (
                draft.type, draft.sender, draft.state_key,
            ):  # fmt: skip
                raise TypeError(f"{type(hook).__name__}.check may replace only the content")
            draft = replacement
        return draft

    async def _lock_rooms(self, t: Queryable, room_ids: set[str]) -> None:
        """Lock several rooms' rows in one order (sorted), so two batches never deadlock."""
        if len(room_ids) > 1:
            for room_id in sorted(room_ids):
                await self._stores.rooms.lock_room(t, room_id)

    async def _append(
        self,
        t: Queryable,
        room_id: str,
        draft: EventDraft,
        position: int | Callable[[int], int],
        *,
        txn: SendTxn | None = None,
        replaces: str | None = None,
        opened: OpenedRoom | None = None,
    ) -> Written:
        """Append within `t` at `position`, or at the one `position(room end)` allocates once
        the room is locked (`opened`: already, by the caller, for this draft). Raises 403 when
        the auth rules refuse."""
        if opened is None:
            opened = await self.open_room(t, room_id, [draft], [])
        room, end_position, current = opened.room, opened.end_position, opened.current
        if callable(position):
            take = position
            position = take(end_position)
        elif end_position >= position:
            raise RoomMovedError(end_position)
        check_json_values(draft.content)
        if replaces is not None:
            require_current(draft, current, replaces)
        built = self.build(room, current, draft, position, txn)
        await self._persist(t, built.event, built.pdu_json, built.context)
        if not await self._stores.rooms.advance_with_txns(
            t, room_id, expected_last=room.last_event_id, new_last=built.event.event_id,
            depth=built.event.depth, txns=[] if txn is None else [(txn, built.event.event_id)],
            now_ms=built.event.origin_server_ts,
        ):  # fmt: skip
            raise RoomMovedError
        return Written(built.event, built.context)

    async def open_room(
        self, t: Queryable, room_id: str, drafts: Sequence[EventDraft], txns: Sequence[SendTxn]
    ) -> OpenedRoom:
        """Lock the room's row (see the module docstring) and read, in the same statement, its
        end's position, the current state the auth rules need for every draft (and the drafts'
        own state keys) and the events already stored for `txns` (store/sql/rooms.py)."""
        wanted = _wanted_keys(drafts)
        opened = await self._stores.rooms.open_room(t, room_id, wanted, txns)
        if opened is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room {room_id}")
        missing = [k for k in _wanted_keys(drafts, opened.room.room_version) if k not in wanted]
        if missing:  # never, as long as `_wanted_keys` asks for the union of the versions' keys
            opened.current.update(await self._stores.state.current_events(t, room_id, missing))
        return opened

    def build(
        self,
        room: RoomRecord,
        current: dict[StateKey, StoredEvent],
        draft: EventDraft,
        position: int | Callable[[], int],
        txn: SendTxn | None,
    ) -> Built:
        """Authorise `draft` on `room`'s end against `current`, build and encode its PDU; only
        then take its position (a callable is called once the draft is known to be good).
        Raises 403 when the auth rules refuse, 413 when the PDU is too large; writes nothing."""
        keys = auth_event_keys(
            draft.type, draft.state_key, draft.sender, draft.content, room.room_version
        )
        authorise(draft, current, room)
        placement = Placement(
            room_id=room.room_id,
            room_version=room.room_version,
            prev_events=[room.last_event_id],
            auth_events=[current[k].event_id for k in keys if k in current],
            depth=room.depth + 1,
            origin_server_ts=(
                self._clock.now_ms() if draft.origin_server_ts is None else draft.origin_server_ts
            ),
        )
        previous = (
            current.get((draft.type, draft.state_key)) if draft.state_key is not None else None
        )
        event_id, pdu = build_pdu(draft, placement, self._identity)
        pdu_json = encoded(pdu)
        event = stored(
            draft, room.room_id, event_id=event_id, placement=placement,
            position=position if isinstance(position, int) else position(),
            previous=previous, txn=txn,
        )  # fmt: skip
        return Built(event, pdu_json, EventContext(room, current), txn)

    async def _create(
        self, t: Queryable, draft: EventDraft, room_version: str, position: int, *, is_public: bool
    ) -> Written:
        """Write the create event and the room row."""
        check_json_values(draft.content)
        try:
            check_auth(auth_event(draft), {}, room_version)
        except AuthError as exc:
            raise MatrixError(400, Errcode.BAD_JSON, f"invalid creation content: {exc}") from exc
        room_id = None
        if room_version != "12":
            room_id = f"!{secrets.token_urlsafe(18)}:{self._identity.server_name}"
        # A v12 room ID is the hash of its create event: the same creator and content in the
        # same millisecond give the same room, so time moves on until the ID is free. Claiming
        # the ID is the insert itself: a check before it would not see a concurrent creation
        # that has not committed yet (PostgreSQL), and both would then insert the same room.
        ts = self._clock.now_ms()
        while True:
            placement = Placement(room_id, room_version, [], [], 1, ts)
            event_id, pdu = build_pdu(draft, placement, self._identity)
            candidate = room_id or room_id_from_create_event_id(event_id)
            record = RoomRecord(candidate, room_version, draft.sender, is_public, event_id, 1)
            if await self._stores.rooms.insert_room(t, record, now_ms=ts):
                break
            ts += 1
        event = stored(
            draft, candidate, event_id=event_id, placement=placement, position=position,
            previous=None, txn=None,
        )  # fmt: skip
        context = EventContext(record, {})  # the row the create event makes; no state before
        await self._persist(t, event, encoded(pdu), context)
        return Written(event, context)

    async def _persist(
        self, t: Queryable, event: StoredEvent, pdu_json: str, context: EventContext
    ) -> None:
        await self._stores.events.insert_event(t, NewEvent.of(event, pdu_json))
        await self._after_insert(t, event, context)

    async def write_messages(self, t: Queryable, room: RoomRecord, built: Sequence[Built]) -> None:
        """Write non-state, non-redaction events built in order on `room`'s end: their rows,
        their txn IDs and the room's end moved to the last one (compare-and-set: RoomMovedError
        when another writer moved it), one statement on PostgreSQL; then each hook's
        `record_group` with all of them."""
        txns = [(b.txn, b.event.event_id) for b in built if b.txn is not None]
        if not await self._stores.rooms.append_messages(
            t, room.room_id, expected_last=room.last_event_id,
            events=[NewEvent.of(b.event, b.pdu_json) for b in built], txns=txns,
            now_ms=built[0].event.origin_server_ts,
        ):  # fmt: skip
            raise RoomMovedError
        written = [(b.event, b.context) for b in built]
        for hook in self._hooks:
            await hook.record_group(t, written)

    async def _after_insert(self, t: Queryable, event: StoredEvent, context: EventContext) -> None:
        for hook in self._hooks:
            await hook.record(t, event, context)
        redacts = event.content.get("redacts") if event.type == EventType.REDACTION else None
        if isinstance(redacts, str):
            # Callers check the redact power level first; see MessageService.redact.
            await take_effect(
                t, self._stores.events, redacts, event.event_id,
                room_version=context.room_version, now_ms=event.origin_server_ts,
            )  # fmt: skip
        if event.state_key is None:
            return
        key, position = (event.type, event.state_key), event.stream_ordering
        await self._stores.state.set_current(t, event.room_id, key, event.event_id, position)
        if event.membership is not None:
            await self._stores.memberships.set_membership(
                t, event.state_key, event.room_id, event.membership, event.event_id, position
            )
            if self._forgets(event.state_key, event.membership):
                # Here, the one place every membership change passes (own leave, kick, ban,
                # rejected or withdrawn invite, admin and offboarding leaves), and in the
                # leave's transaction: no read ever sees the leave without the forget.
                await self._stores.memberships.forget(t, event.state_key, event.room_id)

    def _forgets(self, user_id: str, membership: str) -> bool:
        """Whether this membership change also forgets the room for `user_id`."""
        return (
            self._forget_on_leave
            and membership in (Membership.LEAVE, Membership.BAN)
            and user_id.partition(":")[2] == self.server_name
        )

    async def announce(self, written: Sequence[Written]) -> None:
        """After commit: members cache, wake-ups, `committed` hooks (services/rooms/announce.py)."""
        await self._announcer.announce(written)


def _wanted_keys(drafts: Sequence[EventDraft], room_version: str = "") -> list[StateKey]:
    """The state keys `build` needs for `drafts`: their auth events' and their own. Without a
    room version (not known before the room is read), those of every version: the create
    event, which room version 12 leaves out of `auth_events`, is always read."""
    wanted: list[StateKey] = [(EventType.CREATE, "")]
    for draft in drafts:
        wanted += auth_event_keys(
            draft.type, draft.state_key, draft.sender, draft.content, room_version
        )
        if draft.state_key is not None:
            wanted.append((draft.type, draft.state_key))
    return list(dict.fromkeys(wanted))
