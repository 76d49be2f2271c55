"""A server admin reading a room's messages through Synapse's admin API, whether or not they
are in it: a page of messages, an event with its context, the event nearest a time, and any one
event (Synapse's `rooms/{roomId}/messages`, `context`, `timestamp_to_event`, `fetch_event`).

Why a service of its own: these are the client reads with the door's admin access
(`RoomAccess.for_admin` in services/visibility.py: every event the room holds, what retention
expired still hidden), and each read of messages is a look into people's conversations, so it
is audited (`room.read_messages`, `event.read`), as the compliance export is. The event nearest a
time shows no content and is not audited. Redacted events are shown redacted: an admin reads what
the room holds, not the originals a legal hold keeps (those are the compliance export's).
"""

from __future__ import annotations

from bastion.events.filters import RoomEventFilter
from bastion.events.model import StoredEvent
from bastion.json_types import JsonObject
from bastion.services.audit.trail import AuditTrail
from bastion.services.formatting.formatter import EventFormatter
from bastion.services.principal import Requester, log_admin_action
from bastion.services.rooms.reading import MessagesQuery, RoomReader
from bastion.services.visibility import VisibilityService

READ_MESSAGES = "room.read_messages"
READ_EVENT = "event.read"


class AdminRoomReading:
    """The client reads of a room, for a server admin, audited."""

    def __init__(
        self,
        reader: RoomReader,
        visibility: VisibilityService,
        formatter: EventFormatter,
        audit: AuditTrail,
    ) -> None:
        self._reader, self._visibility, self._formatter = reader, visibility, formatter
        self._audit = audit

    async def messages(self, admin: Requester, room_id: str, query: MessagesQuery) -> JsonObject:
        """A page of the room's events, as `/messages` pages them."""
        admin.require_admin()
        async with self._audit.attempt(admin, READ_MESSAGES, room_id):
            page = await self._reader.messages(admin, room_id, query, as_admin=True)
            chunk = page["chunk"]
            details = {"from": query.from_token, "dir": query.direction,
                       "events": len(chunk) if isinstance(chunk, list) else 0}  # fmt: skip
            await self._audit.record_alone(admin, READ_MESSAGES, room_id, details)
        log_admin_action(admin, f"read messages of {room_id}")
        return page

    async def context(
        self, admin: Requester, room_id: str, event_id: str, *, limit: int | None,
        f: RoomEventFilter,
    ) -> JsonObject:  # fmt: skip
        """An event with the events before and after it and the state at it."""
        admin.require_admin()
        async with self._audit.attempt(admin, READ_MESSAGES, room_id):
            result = await self._reader.context(
                admin, room_id, event_id, limit=limit, f=f, as_admin=True
            )
            details = {"context_of": event_id, "limit": limit}
            await self._audit.record_alone(admin, READ_MESSAGES, room_id, details)
        log_admin_action(admin, f"read the context of {event_id} in {room_id}")
        return result

    async def event_at_time(
        self, admin: Requester, room_id: str, ts: int, direction: str
    ) -> StoredEvent:
        """The room's event closest to `ts` in that direction (404 when none)."""
        admin.require_admin()
        return await self._reader.event_at_time(admin, room_id, ts, direction, as_admin=True)

    async def event(self, admin: Requester, event_id: str) -> JsonObject:
        """Any event this server holds, in its client form (404 when none, or expired)."""
        admin.require_admin()
        async with self._audit.attempt(admin, READ_EVENT, event_id):
            event = await self._visibility.event_for_admin(event_id)
            await self._audit.record_alone(admin, READ_EVENT, event_id, {"room_id": event.room_id})
        log_admin_action(admin, f"read {event_id}")
        return await self._formatter.format_one(event, admin)
