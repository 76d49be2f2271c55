"""What the organisation policy adds to every new room, as room creation sees it.

It sits beside the service packages, not in one, so `rooms/create.py` (which asks) and
`policy/enforcement.py` (which answers) need not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class RoomAdditions:
    """What the organisation policy adds to a new room."""

    moderator: str | None = None  # v12: an additional creator; v7-v11: power 100
    encryption: dict[str, Any] | None = None  # `m.room.encryption` content, unless requested


class NewRoomPolicy(Protocol):
    """The organisation policy's say in new rooms (services/policy/enforcement.py)."""

    async def additions(self, room_version: str) -> RoomAdditions: ...
