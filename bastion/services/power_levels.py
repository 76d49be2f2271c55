"""The current power levels of a room, for checks the auth rules do not make themselves
(redacting others' events, removing aliases)."""

from __future__ import annotations

from bastion.errors import Errcode, MatrixError
from bastion.events.power_levels import PowerLevels, creators_of
from bastion.events.types import EventType
from bastion.store.database import Queryable
from bastion.store.protocols import RoomStore, StateStore


async def current_power_levels(
    q: Queryable, rooms: RoomStore, state: StateStore, room_id: str
) -> PowerLevels:
    """The room's power levels now; 404 M_NOT_FOUND for an unknown room."""
    room = await rooms.get_room(q, room_id)
    keys = [(EventType.CREATE, ""), (EventType.POWER_LEVELS, "")]
    current = await state.current_events(q, room_id, keys)
    create = current.get((EventType.CREATE, ""))
    if room is None or create is None:
        raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room {room_id}")
    power_event = current.get((EventType.POWER_LEVELS, ""))
    return PowerLevels.from_state(
        power_event.content if power_event else None,
        creators_of(create.sender, create.content, room.room_version),
        room.room_version,
    )
