"""`GET /sync`: assemble what changed for a user since a token, or wait until something does.

Incremental cost follows what changed, not how many rooms the user is in, and counts in round
trips: one statement, the probe (store/protocols/sync_probe.py), finds the joined rooms with new
events (walking only the new events), reads the device's key counts and tells which other streams
(membership, account data, receipts, to-device, device lists, presence) hold anything in the
window; only those are then asked; it also reads the active rooms' unread counts. A sync woken
by a message costs the probe and one query for the rooms' newest events together, which the
syncs woken by the same event share (services/recent_events.py): one statement for all but one.

A sync with nothing new waits (`services/long_poll.py`, on the bus-fed `SyncWaits`), which wakes
it only for changes that concern its user; it then builds again from the same token. A long-poll
whose token is the current position (the usual case: the next poll right after an answer) parks
without building at all (`_nothing_since`). A parked sync of a user whose sessions are revoked
ends with 401 M_UNKNOWN_TOKEN (the same loop).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from bastion.events.filters import (
    FilterDefinition,
    effective_limit,
    room_allowed,
)
from bastion.json_types import JsonObject
from bastion.pubsub.base import SyncWaits
from bastion.services.long_poll import LongPoll
from bastion.services.principal import Requester
from bastion.services.stream_token import format_sync_token
from bastion.services.sync.as_of import memberships_as_of
from bastion.services.sync.ephemeral import EphemeralStreams, RoomExtras
from bastion.services.sync.request import SyncRequest
from bastion.services.sync.rooms import RoomSections, RoomWindow
from bastion.services.sync.streams import (
    EncryptionStreams,
    PushStreams,
    room_account_data,
    wanted_account_data,
)
from bastion.services.visibility import Page, Span
from bastion.store.database import Database
from bastion.store.protocols import (
    AccountDataStore,
    DeviceStore,
    EventStore,
    MembershipStore,
    UserStore,
)
from bastion.store.protocols.push import UnreadCount
from bastion.store.protocols.sync_probe import SyncNews, SyncProbe, SyncProbeStore
from bastion.store.records import AccountDataRecord, MembershipRecord
from bastion.store.stream import PositionAllocator

# EncryptionStreams and PushStreams live in streams.py; re-exported for their users
__all__ = ["EncryptionStreams", "PushStreams", "SyncService", "SyncStores"]

DEFAULT_TIMELINE_LIMIT = 10


@dataclass(frozen=True, slots=True)
class SyncStores:
    """The stores /sync reads."""

    events: EventStore
    memberships: MembershipStore
    account_data: AccountDataStore
    devices: DeviceStore  # a parked sync re-checks its session when woken
    probe: SyncProbeStore  # which streams an incremental build need ask at all
    users: UserStore  # ... and, for a service acting without a device, the account


class SyncService:
    """Builds /sync responses and waits for changes."""

    def __init__(
        self,
        db: Database,
        sections: RoomSections,
        positions: PositionAllocator,
        waits: SyncWaits,
        *,
        stores: SyncStores,
        encryption: EncryptionStreams,
        ephemeral: EphemeralStreams,
        push: PushStreams,
    ) -> None:
        self._push = push
        self._presence = ephemeral.presence
        self._encryption = encryption
        self._ephemeral = ephemeral
        self._db = db
        self._sections = sections
        self._events = stores.events
        self._memberships = stores.memberships
        self._account_data = stores.account_data
        self._probe = stores.probe
        self._positions = positions
        self._long_poll = LongPoll(
            db, (stores.devices, stores.users), positions, waits, ephemeral.typing
        )

    @property
    def encryption(self) -> EncryptionStreams:
        """To-device messages, device lists, key counts (sliding sync's extensions too)."""
        return self._encryption

    @property
    def ephemeral(self) -> EphemeralStreams:
        """Typing, receipts, presence (sliding sync's extensions too)."""
        return self._ephemeral

    @property
    def push(self) -> PushStreams:
        """Unread counts and push rules (sliding sync's account data extension too)."""
        return self._push

    def revocations_mark(self) -> int:
        """Read before authenticating a /sync, passed back as `authenticated_at` (long_poll.py)."""
        return self._long_poll.revocations_mark()

    async def sync(
        self, requester: Requester, request: SyncRequest, *, authenticated_at: int | None = None
    ) -> JsonObject:
        """The response; an incremental sync with nothing new waits up to the timeout. The
        user's presence follows `set_presence`, and the sync counts as one in progress."""
        async with self._presence.syncing(requester.user_id, request.set_presence):
            return await self._wait_for_news(requester, request, authenticated_at)

    async def _wait_for_news(
        self, requester: Requester, request: SyncRequest, authenticated_at: int | None
    ) -> JsonObject:
        wait = request.since is not None and not request.full_state

        async def build(upto: int, typing_seen: int) -> tuple[JsonObject | None, bool]:
            if wait and _nothing_since(request, upto, typing_seen):
                return None, False  # park at once: building would find nothing
            return await self._build(requester, request, upto)

        response = await self._long_poll.run(
            requester, build, timeout_ms=request.timeout_ms, wait=wait,
            authenticated_at=authenticated_at,
        )  # fmt: skip
        if response is None:  # the timeout passed and nothing was built: the empty answer
            response, _ = await self._build(requester, request, self._positions.persisted_upto())
        return response

    async def _build(
        self, requester: Requester, request: SyncRequest, upto: int
    ) -> tuple[JsonObject, bool]:
        since = request.since
        probe: SyncProbe | None = None  # an initial or full-state sync asks every stream
        if since is not None and not request.full_state:
            probe = await self._probe.probe(
                self._db, requester.user_id, requester.device_id, after=since, upto=upto
            )
        news = SyncNews() if probe is None else probe.news
        records: list[AccountDataRecord] = []
        if news.account_data:
            records = await self._account_data.changed_after(
                self._db, requester.user_id, after=since or 0, upto=upto
            )
        extras = RoomExtras(room_account_data(records, request.filter), {})
        if since is None or probe is None:
            rooms = await self._full(requester, request, upto, extras)
        else:
            rooms = await self._incremental(requester, request, (since, upto), probe, extras)
        global_data = await self._push.global_account_data(
            requester.user_id,
            records,
            initial=since is None,
            wanted=lambda data_type: wanted_account_data(request.filter, data_type),
        )
        encryption, reached, device_news = await self._encryption_sections(
            requester, request, upto, probe
        )
        presence: list[JsonObject] = []
        if news.presence or extras.newly_joined:
            presence = await self._presence.sync_events(
                requester.user_id, request.filter.presence, since=since, upto=upto,
                joined_rooms=extras.newly_joined,
            )  # fmt: skip
        response: JsonObject = {
            "next_batch": format_sync_token(upto, reached, extras.typing_serial),
            "rooms": rooms,
            "account_data": {"events": global_data},
            "presence": {"events": presence},
            **encryption,
        }
        changed = (
            bool(global_data or presence) or device_news or any(rooms[section] for section in rooms)
        )
        return response, changed

    async def _encryption_sections(
        self, requester: Requester, request: SyncRequest, upto: int, probe: SyncProbe | None
    ) -> tuple[JsonObject, int, bool]:
        """to_device, device_lists and key counts; whether any of them is news; to-device reach."""
        streams = self._encryption
        news = SyncNews() if probe is None else probe.news
        to_device: list[JsonObject] = []
        reached = upto  # an empty inbox: everything up to `upto` was delivered
        if news.to_device:
            to_device, reached = await streams.to_device.deliver(
                self._db, requester, acknowledged=request.since_to_device or 0, upto=upto
            )
        changed: list[str] = []
        left: list[str] = []
        if request.since is not None and news.device_lists:
            changed, left = await streams.device_lists.changes(
                requester.user_id, after=request.since, upto=upto
            )
        if probe is None:
            counts, fallback = await streams.keys.counts(requester)
        else:
            counts, fallback = probe.one_time_key_counts, probe.unused_fallback_key_types
        sections = {
            "to_device": {"events": to_device},
            "device_lists": {"changed": changed, "left": left},
            "device_one_time_keys_count": counts,
            "device_unused_fallback_key_types": fallback,
        }
        return sections, reached, bool(to_device or changed or left)

    async def _full(
        self,
        requester: Requester,
        request: SyncRequest,
        upto: int,
        extras: RoomExtras,
    ) -> JsonObject:
        kinds = ["join", "invite", "knock"]
        if request.filter.room.include_leave:
            kinds += ["leave", "ban"]
        current = await self._memberships.rooms_of_user(self._db, requester.user_id, kinds)
        # A membership that changed after this window counts as it stood at `upto`; the next
        # sync reports the change, in order.
        records = [
            r
            for r in await memberships_as_of(self._db, self._events, current, upto)
            if r.membership in kinds
        ]
        if request.since is not None:  # full_state: rooms left since the token appear too
            changed = await self._memberships.changed_after(
                self._db, requester.user_id, after=request.since, upto=upto
            )
            seen = {r.room_id for r in records}
            records += [r for r in changed if r.room_id not in seen]
        joined_ids = [r.room_id for r in records if r.membership == "join"]
        await self._ephemeral.fill(
            extras, request, joined_ids, since=None, viewer=requester.user_id
        )
        return await self._sections_for(requester, request, records, {}, upto, extras)

    async def _incremental(
        self,
        requester: Requester,
        request: SyncRequest,
        window: tuple[int, int],
        probe: SyncProbe,
        extras: RoomExtras,
    ) -> JsonObject:
        user_id = requester.user_id
        since, upto = window
        news = probe.news
        changed: list[MembershipRecord] = []
        if news.own_membership:
            changed = await self._memberships.changed_after(
                self._db, user_id, after=since, upto=upto
            )
        active = probe.active_rooms
        # A leave or ban in the window is reported even when it forgot the room (or the room was
        # forgotten since): else the user's other clients never see the room go (Synapse does
        # the same; matrix-spec#1458). Its timeline then holds only that member event.
        by_room = {r.room_id: r for r in changed}
        moved_on = [r for r, at in active.items() if at > upto and r not in by_room]
        if moved_on:  # a member event after the window: count the room as it stood at `upto`
            changed += await self._as_of_window(user_id, moved_on, since, upto)
            by_room.update((r.room_id, r) for r in changed)
        for room_id, joined_at in active.items():
            if joined_at <= upto:
                by_room.setdefault(
                    room_id, MembershipRecord(user_id, room_id, "join", "", joined_at, False)
                )
        await self._add_quiet_rooms(requester, request, window, by_room, extras, news.receipts)
        newly_joined = await self._newly_joined(changed, since)
        extras.newly_joined = sorted(newly_joined)
        batched = [
            room_id
            for room_id, r in by_room.items()
            if r.membership == "join" and room_id not in newly_joined
        ]
        room_filter = request.filter.room
        # One query for all of them; a room with nothing new gets an empty timeline, not a
        # query of its own.
        timelines = await self._sections.timelines(
            user_id,
            [
                by_room[r]
                for r in batched
                if room_allowed(room_filter.rooms, room_filter.not_rooms, r)
            ],
            Span(since, upto + 1, self._limit(request.filter)),
            room_filter.timeline,
        )
        return await self._sections_for(
            requester, request, list(by_room.values()), timelines, upto, extras,
            unread_read=(probe.active_rooms.keys(), probe.unread),
        )  # fmt: skip

    async def _add_quiet_rooms(
        self,
        requester: Requester,
        request: SyncRequest,
        window: tuple[int, int],
        by_room: dict[str, MembershipRecord],
        extras: RoomExtras,
        receipts: bool,
    ) -> None:
        """Fill the ephemeral section and add the joined rooms with only typing, receipts or
        room account data to report. Typing is narrowed to the viewer's joined rooms first:
        typing anywhere else on the server costs nothing, and the viewer's joined rooms are
        read at most once (one query), never room by room."""
        user_id = requester.user_id
        joined: dict[str, MembershipRecord] | None = None

        async def joined_rooms() -> dict[str, MembershipRecord]:
            nonlocal joined
            if joined is None:
                records = await self._memberships.rooms_of_user(self._db, user_id, ["join"])
                joined = {r.room_id: r for r in records}
            return joined

        typing = self._ephemeral.typing_rooms(request, incremental=True)
        for room_id in (typing | set(extras.account_data)) - by_room.keys():
            if (record := (await joined_rooms()).get(room_id)) is not None:
                by_room[room_id] = record
        joined_ids = [room_id for room_id, r in by_room.items() if r.membership == "join"]
        await self._ephemeral.fill(
            extras, request, joined_ids, since=window, viewer=user_id, receipts=receipts
        )
        for room_id in extras.rooms() - by_room.keys():  # receipts in a room joined meanwhile
            if (record := (await joined_rooms()).get(room_id)) is not None:
                by_room[room_id] = record

    async def _sections_for(
        self,
        requester: Requester,
        request: SyncRequest,
        records: list[MembershipRecord],
        timelines: dict[str, Page],
        upto: int,
        extras: RoomExtras,
        *,
        unread_read: tuple[Collection[str], Sequence[UnreadCount]] = ((), ()),
    ) -> JsonObject:
        """`unread_read`: rooms whose unread-count rows the probe read, and the rows."""
        rooms: JsonObject = {"join": {}, "invite": {}, "leave": {}, "knock": {}}
        room_filter = request.filter.room
        unread = await self._push.notifications.unread(
            requester.user_id,
            [r.room_id for r in records if r.membership == "join"],
            by_thread=room_filter.timeline.unread_thread_notifications,
            prefetched=unread_read,
        )
        for record in records:
            if not room_allowed(room_filter.rooms, room_filter.not_rooms, record.room_id):
                continue
            if record.membership in ("invite", "knock"):
                key = "invite_state" if record.membership == "invite" else "knock_state"
                stripped = await self._sections.stripped(record)
                if stripped is not None:  # None: an invite from an ignored user
                    rooms[record.membership][record.room_id] = {key: {"events": stripped}}
                continue
            window = await self._window(
                requester,
                request,
                record,
                timelines,
                upto,
                newly_joined=record.room_id in extras.newly_joined,
            )
            if record.membership == "join":
                rooms["join"][record.room_id] = await self._sections.joined(
                    window,
                    extras.account_data.get(record.room_id, []),
                    extras.ephemeral.get(record.room_id, []),
                    unread[record.room_id],
                )
            else:
                rooms["leave"][record.room_id] = await self._sections.left(window)
        return rooms

    async def _window(
        self,
        requester: Requester,
        request: SyncRequest,
        record: MembershipRecord,
        timelines: dict[str, Page],
        upto: int,
        *,
        newly_joined: bool,
    ) -> RoomWindow:
        since = request.since
        timeline = timelines.get(record.room_id)
        ceiling = upto if record.membership == "join" else min(upto, record.stream_ordering)
        if timeline is None:
            # One room on its own: initial sync, a newly joined room, or a room left.
            after = 0 if since is None or newly_joined else since
            span = Span(after, ceiling + 1, self._limit(request.filter))
            timeline = await self._sections.timeline(
                requester.user_id, record, span, request.filter.room.timeline
            )
        full = request.full_state or since is None or newly_joined
        return RoomWindow(
            requester,
            record,
            timeline,
            None if full else since,
            request.full_state,
            request.filter,
            ceiling,
            request.state_after,
        )

    async def _as_of_window(
        self, user_id: str, room_ids: list[str], since: int, upto: int
    ) -> list[MembershipRecord]:
        """Memberships in `room_ids` whose record moved past `upto`, as they stood at `upto`,
        when they were joins or changed within (since, upto]."""
        current = [
            r
            for r in [
                await self._memberships.get_membership(self._db, user_id, room_id)
                for room_id in room_ids
            ]
            if r is not None
        ]
        then = await memberships_as_of(self._db, self._events, current, upto)
        return [r for r in then if r.membership == "join" or r.stream_ordering > since]

    async def _newly_joined(self, changed: list[MembershipRecord], since: int) -> set[str]:
        """Rooms joined now but not at `since`. A new member event of a user already joined (a
        display name change) is not a new join, so the room's whole state does not come again.
        Walks back each member event's `replaces_state` to the one in force at `since`: one
        query per step for all rooms together (usually two)."""
        walking = {r.event_id: r.room_id for r in changed if r.membership == "join"}
        newly: set[str] = set()
        while walking:
            events = await self._events.get_events(self._db, list(walking))
            step: dict[str, str] = {}
            for event_id, room_id in walking.items():
                event = events.get(event_id)
                if event is None or event.stream_ordering <= since:
                    if event is None or event.membership != "join":
                        newly.add(room_id)
                elif event.replaces_state is None:
                    newly.add(room_id)  # the user's first member event in the room
                else:
                    step[event.replaces_state] = room_id
            walking = step
        return newly

    @staticmethod
    def _limit(f: FilterDefinition) -> int:
        return effective_limit(f.room.timeline.limit, DEFAULT_TIMELINE_LIMIT)


def _nothing_since(request: SyncRequest, upto: int, typing_seen: int) -> bool:
    """Whether a build at (`upto`, `typing_seen`) is sure to hold nothing new for `request`:
    every stream a response reports but typing is ordered by the one stream position (events,
    memberships, account data, receipts, to-device, device lists, presence), so when it has not
    moved past the token, the to-device part of the token does not lag it and the typing serial
    is the token's, there is nothing to report. The common case of a long-poll that follows the
    previous answer at once: it parks without a query."""
    return (
        request.since == upto
        and request.since_to_device == upto
        and request.since_typing == typing_seen
    )
