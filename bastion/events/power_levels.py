"""Power levels: parsing `m.room.power_levels` with the spec's defaults, and room creators.

spec: client-server-api#mroompower_levels, rooms/v12 (creators have infinite power).
When a room has no power-levels event yet, the creator has 100 (v7-v11) and state events need 0;
once one exists, `state_default` defaults to 50.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bastion.events.types import before_v11
from bastion.json_types import JsonObject

INFINITE = math.inf
ADMIN_LEVEL = 100  # what clients show as "Admin"


def creators_of(
    create_sender: str, create_content: JsonObject, room_version: str
) -> frozenset[str]:
    """Who created the room: in v12 also `additional_creators`; up to v10 `content.creator`."""
    if before_v11(room_version):
        creator = create_content.get("creator", create_sender)
        return frozenset({creator if isinstance(creator, str) else create_sender})
    creators = {create_sender}
    if room_version == "12":
        extra = create_content.get("additional_creators", [])
        if isinstance(extra, list):
            creators.update(u for u in extra if isinstance(u, str))
    return frozenset(creators)


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _int_map(value: object) -> dict[str, int]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(v, int) and not isinstance(v, bool)}


@dataclass(frozen=True, slots=True)
class PowerLevels:
    """The effective power levels of a room at some point."""

    users: dict[str, int] = field(default_factory=dict)
    users_default: int = 0
    events: dict[str, int] = field(default_factory=dict)
    events_default: int = 0
    state_default: int = 50
    ban: int = 50
    kick: int = 50
    redact: int = 50
    invite: int = 0
    notifications: dict[str, int] = field(default_factory=dict)
    creators: frozenset[str] = frozenset()
    infinite_creators: bool = False

    @classmethod
    def from_state(
        cls, content: JsonObject | None, creators: frozenset[str], room_version: str
    ) -> PowerLevels:
        """Parse `content` of the current power-levels event (None when the room has none)."""
        infinite = room_version == "12"
        if content is None:
            users = {} if infinite else dict.fromkeys(creators, 100)
            return cls(users=users, state_default=0, creators=creators, infinite_creators=infinite)
        return cls(
            users=_int_map(content.get("users")),
            users_default=_int(content.get("users_default"), 0),
            events=_int_map(content.get("events")),
            events_default=_int(content.get("events_default"), 0),
            state_default=_int(content.get("state_default"), 50),
            ban=_int(content.get("ban"), 50),
            kick=_int(content.get("kick"), 50),
            redact=_int(content.get("redact"), 50),
            invite=_int(content.get("invite"), 0),
            notifications=_int_map(content.get("notifications")),
            creators=creators,
            infinite_creators=infinite,
        )

    def user_level(self, user_id: str) -> float:
        """A user's level; room creators in v12 rank above every number."""
        if self.infinite_creators and user_id in self.creators:
            return INFINITE
        return self.users.get(user_id, self.users_default)

    def admins(self) -> frozenset[str]:
        """The room's admins: users at level 100 or more, and (v12) its creators, whose power
        no one can lower. Governance counts both the same (inventory, max_admins, successors)."""
        listed = {user for user, level in self.users.items() if level >= ADMIN_LEVEL}
        if self.infinite_creators:
            listed |= self.creators
        return frozenset(listed)

    def event_level(self, event_type: str, *, is_state: bool) -> int:
        """The level needed to send an event of this type."""
        if event_type in self.events:
            return self.events[event_type]
        return self.state_default if is_state else self.events_default

    def notification_level(self, key: str = "room") -> int:
        """Level needed for `@room` notifications."""
        return self.notifications.get(key, 50)
