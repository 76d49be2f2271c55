"""`GET /sync`: assemble what changed for a user since a token, or wait until something does.

Incremental cost follows what changed, not how many rooms the user is in: one query finds the
user's membership changes after the token, one finds the joined rooms with new events (it walks
only the new events), one fetches those rooms' newest events together, one reads account data.
A sync with nothing new waits (`SyncWaits`, fed by the bus), which wakes it only for changes
that concern its user; it then builds again from the same token. Revoking a user's sessions
(offboarding publishes `SessionsRevoked`) wakes their parked syncs, which then check their device
still exists and end with 401 M_UNKNOWN_TOKEN; a sync reads its session once before it first
parks, and again only after a revocation, never on an ordinary wake-up.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from bastion.errors import Errcode, MatrixError
from bastion.events.filters import (
    FilterDefinition,
    effective_limit,
    room_allowed,
    type_and_sender_match,
)
from bastion.pubsub.base import SyncWaits
from bastion.services.e2ee.device_lists import DeviceListService
from bastion.services.e2ee.keys import KeysService
from bastion.services.e2ee.to_device import ToDeviceService
from bastion.services.principal import Requester
from bastion.services.push.notifications import NotificationService
from bastion.services.push.rules import PUSH_RULES, PushRuleService
from bastion.services.stream_token import format_sync_token
from bastion.services.sync.as_of import memberships_as_of
from bastion.services.sync.ephemeral import EphemeralStreams, RoomExtras
from bastion.services.sync.request import SyncRequest
from bastion.services.sync.rooms import RoomSections, RoomWindow
from bastion.services.visibility import Page, Span
from bastion.store.database import Database
from bastion.store.protocols import (
    AccountDataStore,
    DeviceStore,
    EventStore,
    MembershipStore,
)
from bastion.store.records import AccountDataRecord, MembershipRecord
from bastion.store.stream import PositionAllocator

JsonObject = dict[str, Any]
DEFAULT_TIMELINE_LIMIT = 10


@dataclass(frozen=True, slots=True)
class SyncStores:
    """The stores /sync reads."""

    events: EventStore
    memberships: MembershipStore
    account_data: AccountDataStore
    devices: DeviceStore  # a parked sync re-checks its session when woken


@dataclass(frozen=True, slots=True)
class PushStreams:
    """Unread counts for joined rooms, and the push rules an initial sync carries."""

    notifications: NotificationService
    rules: PushRuleService

    async def push_rules_event(self, user_id: str) -> JsonObject:
        """The `m.push_rules` account data event, always in an initial sync (clients read
        their rules from it; the stored copy exists only once the user changed a rule)."""
        return {"type": PUSH_RULES, "content": await self.rules.push_rules_content(user_id)}


@dataclass(frozen=True, slots=True)
class EncryptionStreams:
    """The end-to-end-encryption parts of /sync."""

    keys: KeysService
    to_device: ToDeviceService
    device_lists: DeviceListService


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
        self._positions = positions
        self._waits = waits
        self._events = stores.events
        self._memberships = stores.memberships
        self._account_data = stores.account_data
        self._devices = stores.devices

    async def sync(self, requester: Requester, request: SyncRequest) -> JsonObject:
        """The response; an incremental sync with nothing new waits up to the timeout. The
        user's presence follows `set_presence`, and the sync counts as one in progress."""
        async with self._presence.syncing(requester.user_id, request.set_presence):
            return await self._wait_for_news(requester, request)

    async def _wait_for_news(self, requester: Requester, request: SyncRequest) -> JsonObject:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + request.timeout_ms / 1000
        # The session is read once before the first wait (a revocation may have landed since the
        # token was checked), then again only when a revocation of this user wakes the sync.
        revoked_seen: int | None = None
        while True:
            upto = self._positions.persisted_upto()
            typing_seen = self._ephemeral.typing.serial
            response, changed = await self._build(requester, request, upto)
            if request.since is None or request.full_state or changed:
                return response
            remaining = deadline - loop.time()
            if revoked_seen is None:
                revoked_seen = self._waits.revocation_serial(requester.user_id)
                await self._require_session(requester)
            woken = await self._waits.wait(
                requester.user_id, upto, remaining, after_ephemeral=typing_seen,
                after_revocation=revoked_seen,
            )  # fmt: skip
            revoked_now = self._waits.revocation_serial(requester.user_id)
            if revoked_now != revoked_seen:
                await self._require_session(requester)
                revoked_seen = revoked_now
            if remaining <= 0 or not woken:
                return response

    async def _require_session(self, requester: Requester) -> None:
        """401 M_UNKNOWN_TOKEN once the requester's device (so its token) is gone: a sync
        parked for a user whose sessions were revoked (offboarding) must not answer 200."""
        device = await self._devices.get_device(self._db, requester.user_id, requester.device_id)
        if device is None:
            raise MatrixError(
                401, Errcode.UNKNOWN_TOKEN, "Unknown access token", {"soft_logout": False}
            )

    async def _build(
        self, requester: Requester, request: SyncRequest, upto: int
    ) -> tuple[JsonObject, bool]:
        since = request.since
        records = await self._account_data.changed_after(
            self._db, requester.user_id, after=since or 0, upto=upto
        )
        extras = RoomExtras(_room_account_data(records, request.filter), {})
        if since is None or request.full_state:
            rooms = await self._full(requester, request, upto, extras)
        else:
            rooms = await self._incremental(requester, request, since, upto, extras)
        global_data = [
            {"type": r.type, "content": r.content}
            for r in records
            if r.room_id == ""
            and _wanted_account_data(request.filter, r.type)
            and not (since is None and r.type == PUSH_RULES)
        ]
        if since is None and _wanted_account_data(request.filter, PUSH_RULES):
            global_data.append(await self._push.push_rules_event(requester.user_id))
        encryption, reached, device_news = await self._encryption_sections(requester, request, upto)
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
        self, requester: Requester, request: SyncRequest, upto: int
    ) -> tuple[JsonObject, int, bool]:
        """to_device, device_lists and key counts; whether any of them is news; to-device reach."""
        streams = self._encryption
        to_device, reached = await streams.to_device.deliver(
            self._db, requester, acknowledged=request.since_to_device or 0, upto=upto
        )
        changed: list[str] = []
        left: list[str] = []
        if request.since is not None:
            changed, left = await streams.device_lists.changes(
                requester.user_id, after=request.since, upto=upto
            )
        counts, fallback = await streams.keys.counts(requester)
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
            records += [r for r in changed if r.room_id not in seen and not r.forgotten]
        joined_ids = [r.room_id for r in records if r.membership == "join"]
        await self._ephemeral.fill(
            extras, request, joined_ids, since=None, viewer=requester.user_id
        )
        return await self._sections_for(requester, request, records, {}, upto, extras)

    async def _incremental(
        self,
        requester: Requester,
        request: SyncRequest,
        since: int,
        upto: int,
        extras: RoomExtras,
    ) -> JsonObject:
        user_id = requester.user_id
        changed = await self._memberships.changed_after(self._db, user_id, after=since, upto=upto)
        active = await self._events.rooms_with_events_between(
            self._db, user_id, after=since, upto=upto
        )
        by_room = {r.room_id: r for r in changed if not r.forgotten}
        moved_on = [r for r, at in active.items() if at > upto and r not in by_room]
        if moved_on:  # a member event after the window: count the room as it stood at `upto`
            changed += await self._as_of_window(user_id, moved_on, since, upto)
            by_room.update((r.room_id, r) for r in changed if not r.forgotten)
        for room_id, joined_at in active.items():
            if joined_at <= upto:
                by_room.setdefault(
                    room_id, MembershipRecord(user_id, room_id, "join", "", joined_at, False)
                )
        await self._add_quiet_rooms(requester, request, (since, upto), by_room, extras)
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
            requester, request, list(by_room.values()), timelines, upto, extras
        )

    async def _add_quiet_rooms(
        self,
        requester: Requester,
        request: SyncRequest,
        window: tuple[int, int],
        by_room: dict[str, MembershipRecord],
        extras: RoomExtras,
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
        await self._ephemeral.fill(extras, request, joined_ids, since=window, viewer=user_id)
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
    ) -> JsonObject:
        rooms: JsonObject = {"join": {}, "invite": {}, "leave": {}, "knock": {}}
        room_filter = request.filter.room
        unread = await self._push.notifications.unread(
            requester.user_id,
            [r.room_id for r in records if r.membership == "join"],
            by_thread=room_filter.timeline.unread_thread_notifications,
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


def _wanted_account_data(f: FilterDefinition, data_type: str) -> bool:
    return type_and_sender_match(f.account_data, data_type, None)


def _room_account_data(
    records: list[AccountDataRecord], f: FilterDefinition
) -> dict[str, list[JsonObject]]:
    grouped: dict[str, list[JsonObject]] = {}
    for record in records:
        if record.room_id and room_allowed(f.room.rooms, f.room.not_rooms, record.room_id):
            grouped.setdefault(record.room_id, []).append(
                {"type": record.type, "content": record.content}
            )
    return grouped
