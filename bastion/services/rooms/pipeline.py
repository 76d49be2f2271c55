"""The event pipeline: every room event the server creates goes through `append`.

Steps, inside one transaction: read the room's end and the state the auth rules need (current
state tables, never a replay), build the signed PDU, check the room version's auth rules, insert
the event (with its relations, search entry and the notifications push rules give it), update
current state and memberships, and move the room's end with a compare-and-set.
If another writer moved the end first, the transaction rolls back and the event is rebuilt on the
new end. After commit, and only then, the syncs of the users the event concerns are woken.

Invariants: transactions never nest (callers pass `txn` for multi-event operations such as room
creation); stream positions stay in flight until their transaction ends (see store/stream.py).
"""

from __future__ import annotations

import asyncio
import secrets
import weakref
from collections.abc import Sequence
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
from bastion.pubsub.base import Notifier
from bastion.services.push.recorder import PushActionRecorder
from bastion.services.relations.recorder import RelationRecorder
from bastion.services.rooms.members_cache import RoomMembersCache
from bastion.services.rooms.redaction import take_effect
from bastion.services.search.indexer import search_entry
from bastion.store.database import Database, Queryable
from bastion.store.protocols import (
    EventStore,
    MembershipStore,
    RoomStore,
    SearchStore,
    StateKey,
    StateStore,
)
from bastion.store.records import NewEvent, RoomRecord, SendTxn
from bastion.store.stream import StreamPositions

MAX_PDU_BYTES = 65_536
_MAX_ATTEMPTS = 20


class _RoomMovedError(Exception):
    """Another writer appended to the room between our read and our write."""


class StateChangedError(Exception):
    """The state event a `replaces` send expected to replace is no longer current."""


@dataclass(frozen=True, slots=True)
class PipelineStores:
    """The stores the pipeline writes."""

    rooms: RoomStore
    events: EventStore
    state: StateStore
    memberships: MembershipStore
    search: SearchStore


@dataclass(frozen=True, slots=True)
class Recorders:
    """What else is written with each event, in its transaction: its relationship and the
    notifications push rules give it."""

    relations: RelationRecorder
    push: PushActionRecorder


class EventPipeline:
    """Builds, authorises, persists and announces room events."""

    def __init__(
        self,
        db: Database,
        stores: PipelineStores,
        *,
        positions: StreamPositions,
        notifier: Notifier,
        members: RoomMembersCache,
        clock: Clock,
        identity: ServerIdentity,
        recorders: Recorders,
    ) -> None:
        self._db = db
        self._room_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._stores = stores
        self._positions = positions
        self._notifier = notifier
        self._members = members
        self._clock = clock
        self._identity = identity
        self._relations = recorders.relations
        self._push = recorders.push

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
    ) -> StoredEvent:
        """Append one event to an existing room; idempotent per `txn`.

        With `replaces`, the draft's state key must still hold that event when the event is
        appended, else StateChangedError and nothing is written (a compare-and-set on state).
        Writers to one room in this process queue on a per-room lock, so they never race each
        other (on PostgreSQL they would otherwise collide on the room's end and rebuild); the
        compare-and-set still guards against other processes.
        """
        async with self._room_locks.setdefault(room_id, asyncio.Lock()):
            for _ in range(_MAX_ATTEMPTS):
                try:
                    with self._positions.allocate() as [position]:
                        async with self._db.transaction() as t:
                            if txn is not None:
                                existing = await self._find_txn(t, txn)
                                if existing is not None:
                                    return existing
                            event = await self.append(
                                t, room_id, draft, position, txn=txn, replaces=replaces
                            )
                except _RoomMovedError:
                    continue
                break
            else:
                raise MatrixError(503, Errcode.UNKNOWN, "the room is too busy; try again")
        await self.announce([event])
        return event

    async def _find_txn(self, t: Queryable, txn: SendTxn) -> StoredEvent | None:
        event_id = await self._stores.events.find_txn(t, txn)
        if event_id is None:
            return None
        return await self._stores.events.get_event(t, event_id)

    async def append(
        self,
        t: Queryable,
        room_id: str,
        draft: EventDraft,
        position: int,
        *,
        txn: SendTxn | None = None,
        replaces: str | None = None,
    ) -> StoredEvent:
        """Append within the caller's transaction. Raises 403 when the auth rules refuse."""
        room = await self._stores.rooms.get_room(t, room_id)
        if room is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room {room_id}")
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
        await self._relations.check(t, draft)  # e.g. a duplicate reaction: refused, not stored
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
        event = await self._insert(t, draft, placement, position, previous, txn)
        if not await self._stores.rooms.advance(
            t, room_id, expected_last=room.last_event_id, new_last=event.event_id, depth=event.depth
        ):
            raise _RoomMovedError
        return event

    async def create_room(
        self, t: Queryable, draft: EventDraft, room_version: str, position: int, *, is_public: bool
    ) -> StoredEvent:
        """Write the create event and the room row; returns the create event."""
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
        room_id = candidate
        event = _stored(
            draft, room_id, event_id=event_id, placement=placement, position=position,
            previous=None, txn=None,
        )  # fmt: skip
        await self._persist(t, event, pdu, room_version)
        return event

    async def _insert(
        self,
        t: Queryable,
        draft: EventDraft,
        placement: Placement,
        position: int,
        previous: StoredEvent | None,
        txn: SendTxn | None,
    ) -> StoredEvent:
        event_id, pdu = build_pdu(draft, placement, self._identity)
        assert placement.room_id is not None
        event = _stored(
            draft, placement.room_id, event_id=event_id, placement=placement, position=position,
            previous=previous, txn=txn,
        )  # fmt: skip
        await self._persist(t, event, pdu, placement.room_version)
        if txn is not None:
            await self._stores.events.insert_txn(t, txn, event_id, placement.origin_server_ts)
        return event

    async def _persist(
        self, t: Queryable, event: StoredEvent, pdu: dict[str, object], room_version: str
    ) -> None:
        pdu_json = canonical_json(pdu)
        if len(pdu_json) > MAX_PDU_BYTES:
            raise MatrixError(413, Errcode.TOO_LARGE, f"event is larger than {MAX_PDU_BYTES} bytes")
        state_value = _state_value(event)
        await self._stores.events.insert_event(t, NewEvent(event, pdu_json.decode(), state_value))
        await self._relations.record(t, event)  # m.relates_to rows, or a redacted child's removal
        await self._push.record(t, event)  # notifications, committed with the event
        if (entry := search_entry(event)) is not None:
            await self._stores.search.insert_entries(t, [entry])
        redacts = event.content.get("redacts") if event.type == EventType.REDACTION else None
        if isinstance(redacts, str):
            # Callers check the redact power level first; see MessageService.redact.
            await take_effect(
                t, self._stores.events, redacts, event.event_id,
                room_version=room_version, now_ms=event.origin_server_ts,
            )  # fmt: skip
            await self._stores.search.delete_event(t, redacts)
        if event.state_key is None:
            return
        key = (event.type, event.state_key)
        await self._stores.state.set_current(
            t, event.room_id, key, event.event_id, event.stream_ordering
        )
        if event.type == EventType.MEMBER and state_value is not None:
            await self._stores.memberships.set_membership(
                t,
                event.state_key,
                event.room_id,
                state_value,
                event.event_id,
                event.stream_ordering,
            )

    async def announce(self, events: Sequence[StoredEvent]) -> None:
        """After commit: update the members cache and wake the syncs of everyone concerned."""
        for event in events:
            if event.type == EventType.MEMBER and event.state_key is not None and event.membership:
                self._members.apply(event.room_id, event.state_key, event.membership)
            users = set(await self._members.joined(event.room_id))
            if event.type == EventType.MEMBER and event.state_key is not None:
                users.add(event.state_key)
            self._notifier.notify(event.stream_ordering, users)


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
        raise MatrixError(403, Errcode.FORBIDDEN, str(exc)) from exc


def _require_current(
    draft: EventDraft, current: dict[StateKey, StoredEvent], replaces: str
) -> None:
    # Read in the same transaction as the room's end, so the end's compare-and-set covers it.
    held = current.get((draft.type, draft.state_key)) if draft.state_key is not None else None
    if held is None or held.event_id != replaces:
        raise StateChangedError(f"{draft.type} {draft.state_key!r} no longer holds {replaces}")


def _state_value(event: StoredEvent) -> str | None:
    if event.type == EventType.MEMBER:
        return event.membership
    if event.type == EventType.HISTORY_VISIBILITY:
        value = event.content.get("history_visibility")
        return value if isinstance(value, str) else None
    if event.type == EventType.JOIN_RULES:  # the user directory finds members of public rooms
        value = event.content.get("join_rule")
        return value if isinstance(value, str) else None
    return None


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
