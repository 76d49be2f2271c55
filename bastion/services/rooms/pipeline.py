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
   take effect (services/rooms/redaction.py), update current state and memberships, and move
   the room's end with a compare-and-set. If another writer moved the end first, the
   transaction rolls back and the event is rebuilt on the new end.
   The room's end is read with `lock_room`: on PostgreSQL its row stays locked until commit,
   so writers to one room queue there even from different processes, and the end, depth and
   current state they read are the last writer's. An event's stream position must be above
   the position of the room's end: a single send takes its position only once it holds the
   room's row, above the end it read there, so the stream order of a room's events is the order
   of its history (prev_events) on every process, with no retry; a batch allocates first, and a
   position another process's later one overtook is given back and the batch retried above it.
3. After commit, and only then: the members cache learns a membership change, the syncs of the
   users the event concerns (the room's joined members, a membership change's target) are woken,
   then `committed` of every hook runs. Callers never wake anyone themselves.
   The call returns once this process's readers may read the event (`wait_readable`: at once
   in one process; with several, when the peers' promises have passed it), so a client that
   sends and then syncs sees what it sent.

Its own bookkeeping is the same for every state type (current state; the `state_value` column,
whose types `store/records.py` declares), plus memberships, which auth and every read stand on.

Invariants: transactions never nest (the pipeline opens each one itself); stream positions stay
in flight until their transaction ends (see store/stream.py).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import weakref
from collections.abc import Awaitable, Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.events.auth_rules import AuthError, AuthEvent, auth_event_keys, check_auth
from bastion.events.builder import (
    EventDraft,
    Placement,
    ServerIdentity,
    build_pdu,
    room_id_from_create_event_id,
)
from bastion.events.canonical import canonical_json, check_json_values
from bastion.events.model import StoredEvent
from bastion.events.types import EventType
from bastion.pubsub.base import Bus
from bastion.pubsub.messages import CacheInvalidated, EventsPersisted
from bastion.services.event_hooks import CommittedEvent, EventContext, EventHook
from bastion.services.members_cache import MEMBERS_CACHE, RoomMembersCache
from bastion.services.rooms.redaction import take_effect
from bastion.store.database import Database, Queryable
from bastion.store.protocols import EventStore, MembershipStore, RoomStore, StateKey, StateStore
from bastion.store.records import NewEvent, RoomRecord, SendTxn
from bastion.store.stream import PositionAllocator

log = logging.getLogger(__name__)

MAX_PDU_BYTES = 65_536
_MAX_ATTEMPTS = 20

# Writes what a new room needs besides its events (directory entry, alias), in its transaction.
RoomSetup = Callable[[Queryable, str], Awaitable[None]]
# Writes what must commit with one sent event (an admin action's audit record), in its transaction.
AlsoWrite = Callable[[Queryable, StoredEvent], Awaitable[None]]


class _RoomMovedError(Exception):
    """Another writer appended to the room between our read and our write, or holds the room's
    end at a position at or above ours (`end_position`: retry above it)."""

    def __init__(self, end_position: int = 0) -> None:
        super().__init__(end_position)
        self.end_position = end_position


class StateChangedError(Exception):
    """The state event a `replaces` send expected to replace is no longer current."""


class AuthRulesRefusal(MatrixError):
    """403 M_FORBIDDEN: the room version's auth rules refused the event."""


@dataclass(frozen=True, slots=True)
class PipelineStores:
    """The stores the pipeline writes."""

    rooms: RoomStore
    events: EventStore
    state: StateStore
    memberships: MembershipStore


@dataclass(frozen=True, slots=True)
class _Written:
    event: StoredEvent
    context: EventContext


class EventPipeline:
    """Builds, authorises, persists and announces room events."""

    def __init__(
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
    ) -> None:
        self._db = db
        self._room_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._stores = stores
        self._positions = positions
        self._bus = bus
        self._members = members
        self._clock = clock
        self._identity = identity
        self._hooks = tuple(hooks)

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
        above = 0
        async with self._room_locks.setdefault(room_id, asyncio.Lock()):
            for _ in range(_MAX_ATTEMPTS):
                try:
                    # The position is taken once the room's row is locked, above its end, and
                    # stays in flight until the transaction has ended (the stack closes after
                    # it): writers to one room, from any process, get positions in lock order.
                    with ExitStack() as in_flight:

                        def take(end_position: int, floor: int = above) -> int:
                            allocation = self._positions.allocate(above=max(floor, end_position))
                            [position] = in_flight.enter_context(allocation)
                            return position

                        async with self._db.transaction() as t:
                            if txn is not None:
                                existing = await self._find_txn(t, txn)
                                if existing is not None:
                                    return existing
                            written = await self._append(
                                t, room_id, draft, take, txn=txn, replaces=replaces
                            )
                            if also is not None:
                                await also(t, written.event)
                except _RoomMovedError as moved:
                    above = max(above, moved.end_position)
                    continue
                break
            else:
                raise _too_busy()
        await self._committed([written])
        await self._positions.wait_readable(written.event.stream_ordering)
        return written.event

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
            except _RoomMovedError as moved:
                above = max(above, moved.end_position)
                continue
            break
        else:
            raise _too_busy()
        await self._committed(written)
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
        await self._committed(written)
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

    async def _find_txn(self, t: Queryable, txn: SendTxn) -> StoredEvent | None:
        event_id = await self._stores.events.find_txn(t, txn)
        if event_id is None:
            return None
        return await self._stores.events.get_event(t, event_id)

    async def _append(
        self,
        t: Queryable,
        room_id: str,
        draft: EventDraft,
        position: int | Callable[[int], int],
        *,
        txn: SendTxn | None = None,
        replaces: str | None = None,
    ) -> _Written:
        """Append within `t` at `position`, or at the one `position(room end)` allocates once
        the room is locked. Raises 403 when the auth rules refuse."""
        locked = await self._stores.rooms.lock_room(t, room_id)
        if locked is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room {room_id}")
        room, end_position = locked
        if callable(position):
            position = position(end_position)
        elif end_position >= position:
            raise _RoomMovedError(end_position)
        check_json_values(draft.content)
        keys = auth_event_keys(
            draft.type, draft.state_key, draft.sender, draft.content, room.room_version
        )
        wanted: list[StateKey] = [(EventType.CREATE, ""), *keys]
        if draft.state_key is not None:
            wanted.append((draft.type, draft.state_key))
        current = await self._stores.state.current_events(t, room_id, list(dict.fromkeys(wanted)))
        if replaces is not None:
            _require_current(draft, current, replaces)
        _authorise(draft, current, room)
        placement = Placement(
            room_id=room_id,
            room_version=room.room_version,
            prev_events=[room.last_event_id],
            auth_events=[current[k].event_id for k in keys if k in current],
            depth=room.depth + 1,
            origin_server_ts=self._clock.now_ms(),
        )
        previous = (
            current.get((draft.type, draft.state_key)) if draft.state_key is not None else None
        )
        context = EventContext(room, current)
        event_id, pdu = build_pdu(draft, placement, self._identity)
        event = _stored(
            draft, room_id, event_id=event_id, placement=placement, position=position,
            previous=previous, txn=txn,
        )  # fmt: skip
        await self._persist(t, event, pdu, context)
        if txn is not None:
            await self._stores.events.insert_txn(t, txn, event_id, placement.origin_server_ts)
        if not await self._stores.rooms.advance(
            t, room_id, expected_last=room.last_event_id, new_last=event.event_id, depth=event.depth
        ):
            raise _RoomMovedError
        return _Written(event, context)

    async def _create(
        self, t: Queryable, draft: EventDraft, room_version: str, position: int, *, is_public: bool
    ) -> _Written:
        """Write the create event and the room row."""
        check_json_values(draft.content)
        try:
            check_auth(_auth_event(draft), {}, room_version)
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
        event = _stored(
            draft, candidate, event_id=event_id, placement=placement, position=position,
            previous=None, txn=None,
        )  # fmt: skip
        context = EventContext(record, {})  # the row the create event makes; no state before
        await self._persist(t, event, pdu, context)
        return _Written(event, context)

    async def _persist(
        self, t: Queryable, event: StoredEvent, pdu: dict[str, object], context: EventContext
    ) -> None:
        pdu_json = canonical_json(pdu)
        if len(pdu_json) > MAX_PDU_BYTES:
            raise MatrixError(413, Errcode.TOO_LARGE, f"event is larger than {MAX_PDU_BYTES} bytes")
        await self._stores.events.insert_event(t, NewEvent.of(event, pdu_json.decode()))
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

    async def _committed(self, written: Sequence[_Written]) -> None:
        """After commit: update the members cache, wake the syncs of everyone concerned, then
        run the hooks' `committed` phase (a failing hook is logged; the event stands).

        Every invalidation goes out before the first await, so no reader can keep a member
        list older than a committed batch; a member event that leaves the joined set as it was
        (a join replacing a join: a profile change) invalidates nothing.
        """
        for item in written:
            if _changes_joined_members(item.event):
                self._bus.publish(CacheInvalidated(MEMBERS_CACHE, item.event.room_id))
        for item in written:
            event = item.event
            joined = await self._members.joined(event.room_id)
            # A member event's target is named: a leaver is no longer joined, and another
            # process adds only the joined members to a big room's event (pubsub/redis.py).
            named = (
                frozenset({event.state_key})
                if event.membership is not None and event.state_key is not None
                else frozenset()
            )
            concerned = frozenset(joined | named) if named else frozenset(joined)
            self._bus.publish(
                EventsPersisted(event.stream_ordering, concerned, event.room_id, named)
            )
            await self._run_committed(CommittedEvent(event, item.context, concerned))

    async def _run_committed(self, committed: CommittedEvent) -> None:
        for hook in self._hooks:
            try:
                await hook.committed(committed)
            except Exception:  # the event has committed: a hook's failure cannot undo it
                log.exception("%s failed after %s", type(hook).__name__, committed.event.event_id)


def _changes_joined_members(event: StoredEvent) -> bool:
    """Whether a member event moves its user into or out of the room's joined set."""
    if event.membership is None or event.state_key is None:
        return False
    before = event.prev_content.get("membership") if event.prev_content is not None else None
    return (event.membership == "join") != (before == "join")


def _too_busy() -> MatrixError:
    return MatrixError(503, Errcode.UNKNOWN, "the room is too busy; try again")


def _auth_event(draft: EventDraft, prev_events: tuple[str, ...] = ()) -> AuthEvent:
    return AuthEvent(draft.type, draft.sender, draft.content, draft.state_key, prev_events)


def _authorise(draft: EventDraft, current: dict[StateKey, StoredEvent], room: RoomRecord) -> None:
    state = {
        k: AuthEvent(e.type, e.sender, e.content, e.state_key, event_id=e.event_id)
        for k, e in current.items()
    }
    try:
        check_auth(_auth_event(draft, (room.last_event_id,)), state, room.room_version)
    except AuthError as exc:
        raise AuthRulesRefusal(403, Errcode.FORBIDDEN, str(exc)) from exc


def _require_current(
    draft: EventDraft, current: dict[StateKey, StoredEvent], replaces: str
) -> None:
    # Read in the same transaction as the room's end, so the end's compare-and-set covers it.
    held = current.get((draft.type, draft.state_key)) if draft.state_key is not None else None
    if held is None or held.event_id != replaces:
        raise StateChangedError(f"{draft.type} {draft.state_key!r} no longer holds {replaces}")


def _stored(
    draft: EventDraft,
    room_id: str,
    *,
    event_id: str,
    placement: Placement,
    position: int,
    previous: StoredEvent | None,
    txn: SendTxn | None,
) -> StoredEvent:
    return StoredEvent(
        stream_ordering=position,
        event_id=event_id,
        room_id=room_id,
        type=draft.type,
        sender=draft.sender,
        content=draft.content,
        origin_server_ts=placement.origin_server_ts,
        depth=placement.depth,
        state_key=draft.state_key,
        prev_content=previous.content if previous is not None else None,
        prev_sender=previous.sender if previous is not None else None,
        replaces_state=previous.event_id if previous is not None else None,
        sender_device=txn.device_id if txn is not None else None,
        txn_id=txn.txn_id if txn is not None else None,
    )
