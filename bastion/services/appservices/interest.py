"""Which room events an application service receives (spec: application-service-api,
"interested"): an event whose sender, or whose member event's subject, is in one of its user
namespaces (or is its sender); an event in a room of its room namespaces, or in a room with an
alias of its alias namespaces (the room's aliases in this server's directory), or in a room
where one of its users is joined. Only local users count for the user namespaces (the spec's
note: events of users on other servers are not sent for that reason alone); Bastion has no
others.

A room's members and aliases are read as they are when the event is examined, not as they were
when it was sent: a service that joined a room after an event receives that event too if it is
still waiting to be sent (Synapse does the same).
"""

from __future__ import annotations

from typing import Protocol

from bastion.events.model import StoredEvent
from bastion.events.types import EventType
from bastion.services.appservices.registration import AppServiceRegistration


class RoomFacts(Protocol):
    """The room facts interest needs."""

    async def joined(self, room_id: str) -> set[str]: ...
    async def aliases(self, room_id: str) -> list[str]: ...
    async def rooms_of(self, user_id: str) -> list[str]: ...  # the rooms a user is joined to


class Interest:
    """Decides interest for a batch of events; room facts are read once per room per batch."""

    def __init__(self, rooms: RoomFacts) -> None:
        self._rooms = rooms

    async def select(
        self, registration: AppServiceRegistration, events: list[StoredEvent]
    ) -> list[StoredEvent]:
        """The events of `events` the service is interested in, in the given order."""
        by_room: dict[str, bool] = {}
        out: list[StoredEvent] = []
        for event in events:
            if _names_a_user(registration, event):
                out.append(event)
                continue
            room_id = event.room_id
            if room_id not in by_room:
                by_room[room_id] = await self._room_interests(registration, room_id)
            if by_room[room_id]:
                out.append(event)
        return out

    async def rooms(self, registration: AppServiceRegistration, room_ids: set[str]) -> set[str]:
        """Those of `room_ids` the service is interested in (where its receipts and typing
        come from: the spec's "the same rules as regular events")."""
        return {r for r in room_ids if await self._room_interests(registration, r)}

    async def users(self, registration: AppServiceRegistration, user_ids: set[str]) -> set[str]:
        """Those of `user_ids` whose presence the service receives: in its user namespaces, or
        joined to a room it is interested in (Synapse's rule; the spec's "a user an application
        service shares a room with, or matching one of the application service's namespaces").
        Each room is judged once per call."""
        by_room: dict[str, bool] = {}
        out: set[str] = set()
        for user_id in user_ids:
            if registration.owns_user(user_id):
                out.add(user_id)
                continue
            for room_id in await self._rooms.rooms_of(user_id):
                if room_id not in by_room:
                    by_room[room_id] = await self._room_interests(registration, room_id)
                if by_room[room_id]:
                    out.add(user_id)
                    break
        return out

    async def _room_interests(self, registration: AppServiceRegistration, room_id: str) -> bool:
        if registration.owns_room(room_id):
            return True
        if registration.aliases and any(
            registration.owns_alias(a) for a in await self._rooms.aliases(room_id)
        ):
            return True
        return any(registration.owns_user(u) for u in await self._rooms.joined(room_id))


def _names_a_user(registration: AppServiceRegistration, event: StoredEvent) -> bool:
    if registration.owns_user(event.sender):
        return True
    return (
        event.type == EventType.MEMBER
        and event.state_key is not None
        and registration.owns_user(event.state_key)
    )
