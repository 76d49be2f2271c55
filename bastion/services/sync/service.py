"""`GET /sync`: assemble what changed for a user since a token, or wait until something does.

Incremental cost follows what changed, not how many rooms the user is in: one query finds the
user's membership changes after the token, one finds the joined rooms with new events (it walks
only the new events), one fetches those rooms' newest events together, one reads account data.
A sync with nothing new waits on the notifier, which wakes it only for events that concern its
user; it then builds again from the same token.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from bastion.events.filters import (
    FilterDefinition,
    effective_limit,
    room_allowed,
    type_and_sender_match,
)
from bastion.events.model import StoredEvent
from bastion.pubsub.base import Notifier
from bastion.services.auth import Requester
from bastion.services.e2ee.device_lists import DeviceListService
from bastion.services.e2ee.keys import KeysService
from bastion.services.e2ee.to_device import ToDeviceService
from bastion.services.ephemeral.receipts import receipt_events
from bastion.services.ephemeral.typing import TypingService
from bastion.services.ignored_users import IgnoredUsers
from bastion.services.presence.service import PresenceService
from bastion.services.push.notifications import NotificationService
from bastion.services.push.rules import PUSH_RULES, PushRuleService
from bastion.services.stream_token import format_sync_token
from bastion.services.sync.request import SyncRequest
from bastion.services.sync.rooms import RoomSections, RoomWindow, Timeline
from bastion.store.database import Database
from bastion.store.protocols import AccountDataStore, EventStore, MembershipStore, ReceiptStore
from bastion.store.records import AccountDataRecord, MembershipRecord
from bastion.store.stream import StreamPositions

JsonObject = dict[str, Any]
DEFAULT_TIMELINE_LIMIT = 10


@dataclass(frozen=True, slots=True)
class SyncStores:
    """The stores /sync reads."""

    events: EventStore
    memberships: MembershipStore
    account_data: AccountDataStore


@dataclass(slots=True)
class RoomExtras:
    """Per-room account data and ephemeral events for this response, by room."""

    account_data: dict[str, list[JsonObject]]
    ephemeral: dict[str, list[JsonObject]]
    typing_serial: int = 0
    newly_joined: list[str] = field(default_factory=list)  # rooms joined since the token

    def rooms(self) -> set[str]:
        return set(self.account_data) | set(self.ephemeral)


@dataclass(frozen=True, slots=True)
class EphemeralStreams:
    """Typing and receipts, the ephemeral section of joined rooms; presence, the top-level
    `presence` section."""

    db: Database
    typing: TypingService
    receipts: ReceiptStore
    presence: PresenceService
    ignored: IgnoredUsers

    async def fill(
        self,
        extras: RoomExtras,
        request: SyncRequest,
        joined_ids: list[str] | None,
        *,
        since: tuple[int, int] | None,
        viewer: str,
    ) -> None:
        """Typing for rooms whose typers changed, receipts new since the token (all of the
        joined rooms' receipts on an initial sync); none from users the viewer ignores."""
        wanted = request.filter.room.ephemeral
        ignored = await self.ignored.ignored_by(viewer)
        extras.typing_serial = self.typing.serial
        typing_since = request.since_typing if since is not None else None
        rooms = self.typing.rooms_changed_since(typing_since)
        if joined_ids is not None:
            rooms &= set(joined_ids)
        if type_and_sender_match(wanted, "m.typing", None):
            for room_id in rooms:
                typers = [u for u in self.typing.typers(room_id) if u not in ignored]
                event = {"type": "m.typing", "content": {"user_ids": typers}}
                extras.ephemeral.setdefault(room_id, []).append(event)
        if not type_and_sender_match(wanted, "m.receipt", None):
            return
        if since is None:
            receipts = await self.receipts.receipts_in_rooms(self.db, joined_ids or [])
        else:
            receipts = await self.receipts.receipts_changed(
                self.db, viewer, after=since[0], upto=since[1]
            )
        shown = [r for r in receipts if r.user_id not in ignored]
        for room_id, event in receipt_events(shown, viewer).items():
            extras.ephemeral.setdefault(room_id, []).append(event)


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
        positions: StreamPositions,
        notifier: Notifier,
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
        self._notifier = notifier
        self._events = stores.events
        self._memberships = stores.memberships
        self._account_data = stores.account_data

    async def sync(self, requester: Requester, request: SyncRequest) -> JsonObject:
        """The response; an incremental sync with nothing new waits up to the timeout. The
        user's presence follows `set_presence`, and the sync counts as one in progress."""
        async with self._presence.syncing(requester.user_id, request.set_presence):
            return await self._wait_for_news(requester, request)

    async def _wait_for_news(self, requester: Requester, request: SyncRequest) -> JsonObject:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + request.timeout_ms / 1000
        while True:
            upto = self._positions.persisted_upto()
            typing_seen = self._ephemeral.typing.serial
            response, changed = await self._build(requester, request, upto)
            if request.since is None or request.full_state or changed:
                return response
            remaining = deadline - loop.time()
            woken = await self._notifier.wait(
                requester.user_id, upto, remaining, after_ephemeral=typing_seen
            )
            if remaining <= 0 or not woken:
                return response

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
            await self._ephemeral.fill(
                extras, request, None, since=(since, upto), viewer=requester.user_id
            )
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
        records = await self._memberships.rooms_of_user(self._db, requester.user_id, kinds)
        # A membership that changed after this window is reported by the next sync, in order.
        records = [r for r in records if r.stream_ordering <= upto]
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
        for room_id, joined_at in active.items():
            if joined_at > upto:
                continue  # joined after this window: the next sync reports the join, in order
            by_room.setdefault(
                room_id, MembershipRecord(user_id, room_id, "join", "", joined_at, False)
            )
        for room_id in extras.rooms():
            if room_id not in by_room:
                record = await self._memberships.get_membership(self._db, user_id, room_id)
                if record is not None and record.membership == "join":
                    by_room[room_id] = record
        newly_joined = await self._newly_joined(changed, since)
        extras.newly_joined = sorted(newly_joined)
        batched = [
            room_id
            for room_id, r in by_room.items()
            if r.membership == "join" and room_id not in newly_joined
        ]
        limit = self._limit(request.filter)
        recent = await self._events.recent_events_in_rooms(
            self._db, batched, after=since, upto=upto, limit=limit + 1
        )
        timelines: dict[str, list[StoredEvent]] = {}
        for event in recent:
            timelines.setdefault(event.room_id, []).append(event)
        return await self._sections_for(
            requester, request, list(by_room.values()), timelines, upto, extras
        )

    async def _sections_for(
        self,
        requester: Requester,
        request: SyncRequest,
        records: list[MembershipRecord],
        timelines: dict[str, list[StoredEvent]],
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
        timelines: dict[str, list[StoredEvent]],
        upto: int,
        *,
        newly_joined: bool,
    ) -> RoomWindow:
        limit = self._limit(request.filter)
        since = request.since
        events = timelines.get(record.room_id)
        ceiling = upto if record.membership == "join" else min(upto, record.stream_ordering)
        if events is None:
            # One room on its own: initial sync, a newly joined room, or a room left.
            after = 0 if since is None or newly_joined else since
            newest = await self._events.room_events_between(
                self._db,
                record.room_id,
                after=after,
                before=ceiling + 1,
                limit=limit + 1,
                newest_first=True,
            )
            events = newest[::-1]
        limited = len(events) > limit
        timeline = Timeline(events[-limit:] if limited else events, limited)
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
