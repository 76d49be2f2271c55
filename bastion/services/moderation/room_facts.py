"""What moderation reads of rooms and events for admins, never for a client.

A read-door exception (services/visibility.py lists it): admins handling a report see the
reported event as stored (`event_json`, the PDU: a redacted event shows its redacted form, since a
redaction rewrites what is stored), a few events around it in its room (`events_around`, for the
console's "message in context": redacted ones as redacted, never their original), and the room's
current name and canonical alias; the acting
side reads a room's power levels and join rule to decide how the moderation account gets in and
whether it needs promotion. Nothing here hands events to a client.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bastion.events.model import StoredEvent
from bastion.events.power_levels import PowerLevels
from bastion.events.types import EventType
from bastion.services.power_levels import current_power_levels
from bastion.store.database import Database
from bastion.store.protocols import EventStore, RoomStore, StateStore


@dataclass(frozen=True, slots=True)
class RoomLabel:
    """How an admin recognises a room: its current name and canonical alias, if any."""

    name: str | None
    canonical_alias: str | None


class RoomFacts:
    """Admin-side reads of events and current room state."""

    def __init__(
        self, db: Database, *, events: EventStore, state: StateStore, rooms: RoomStore
    ) -> None:
        self._db, self._events, self._state, self._rooms = db, events, state, rooms

    async def event(self, event_id: str) -> StoredEvent | None:
        """The stored event (whatever room it is in), or None."""
        return await self._events.get_event(self._db, event_id)

    async def event_json(self, event_id: str) -> dict[str, Any] | None:
        """The event's PDU as stored (redacted form once redacted), or None."""
        pdu = await self._events.get_pdu(self._db, event_id)
        if pdu is None:
            return None
        loaded: dict[str, Any] = json.loads(pdu)
        return loaded

    async def events_around(self, event_id: str, *, before: int, after: int) -> list[StoredEvent]:
        """Up to `before` events preceding `event_id` in its room, the event, then up to `after`
        following it, oldest first; empty for an unknown event."""
        event = await self._events.get_event(self._db, event_id)
        if event is None:
            return []
        position, room_id = event.stream_ordering, event.room_id
        earlier = await self._events.room_events_between(
            self._db, room_id, after=0, before=position, limit=before, newest_first=True
        )
        later = await self._events.room_events_between(
            self._db, room_id, after=position, before=2**62, limit=after, newest_first=False
        )
        return [*reversed(earlier), event, *later]

    async def room_exists(self, room_id: str) -> bool:
        """True for a room this server knows."""
        return await self._rooms.get_room(self._db, room_id) is not None

    async def labels(self, room_ids: set[str]) -> dict[str, RoomLabel]:
        """Each room's name and canonical alias (one state read per room)."""
        keys = [(EventType.NAME, ""), (EventType.CANONICAL_ALIAS, "")]
        found: dict[str, RoomLabel] = {}
        for room_id in room_ids:
            current = await self._state.current_events(self._db, room_id, keys)
            name = current.get((EventType.NAME, ""))
            alias = current.get((EventType.CANONICAL_ALIAS, ""))
            found[room_id] = RoomLabel(
                _string(name.content.get("name")) if name else None,
                _string(alias.content.get("alias")) if alias else None,
            )
        return found

    async def power_levels(self, room_id: str) -> PowerLevels:
        """The room's power levels now; 404 M_NOT_FOUND for an unknown room."""
        return await current_power_levels(self._db, self._rooms, self._state, room_id)

    async def join_rule(self, room_id: str) -> str:
        """The room's join rule (`invite` when it has none, as the spec defaults)."""
        current = await self._state.current_events(self._db, room_id, [(EventType.JOIN_RULES, "")])
        event = current.get((EventType.JOIN_RULES, ""))
        rule = event.content.get("join_rule") if event is not None else None
        return rule if isinstance(rule, str) else "invite"


def _string(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
