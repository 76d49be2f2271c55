"""Room events the audit log records, written by an event hook in the event's own transaction:
room creation (`room.create`) and every later power-level change (`room.power_levels`, with who
gained or lost which level). The sender is known by user ID only (events carry no device).

The initial power levels of `createRoom` are part of `room.create` (its details carry the
creators and the admins the room starts with), not a change of their own.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import override

from bastion.events.model import StoredEvent
from bastion.events.power_levels import PowerLevels, creators_of
from bastion.events.types import EventType
from bastion.services.audit.trail import AuditTrail
from bastion.services.event_hooks import EventContext, EventHook
from bastion.services.principal import ActorKind
from bastion.store.database import Queryable


def _level_changes(before: PowerLevels, after: PowerLevels) -> dict[str, Any]:
    changed = {}
    for user in sorted(set(before.users) | set(after.users)):
        old, new = before.users.get(user), after.users.get(user)
        if old != new:
            changed[user] = {"from": old, "to": new}
    return changed


class AuditedRoomEvents(EventHook):
    """Records room creations and power-level changes in the audit log."""

    def __init__(self, audit: AuditTrail) -> None:
        self._audit = audit

    @override
    async def record(self, q: Queryable, event: StoredEvent, context: EventContext) -> None:
        if event.state_key != "":
            return
        if event.type == EventType.CREATE:
            creators = creators_of(event.sender, event.content, context.room_version)
            created = {"room_version": context.room_version, "creators": sorted(creators)}
            await self._audit.append(
                q, str(ActorKind.USER), event.sender, "room.create", event.room_id, created
            )
        elif event.type == EventType.POWER_LEVELS:
            if (EventType.POWER_LEVELS, "") not in context.auth_state:
                return  # the room's first power levels: part of its creation
            before = context.power_levels()
            after = PowerLevels.from_state(event.content, before.creators, context.room_version)
            details: dict[str, Any] = {
                "event_id": event.event_id,
                "users": _level_changes(before, after),
                "admins": sorted(after.admins()),
            }
            await self._audit.append(
                q, str(ActorKind.USER), event.sender, "room.power_levels", event.room_id, details
            )
