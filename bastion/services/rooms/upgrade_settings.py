"""What follows a user into a room that replaced another (a room upgrade, upgrade.py): when a
local user joins a room whose create event names a `predecessor`, their push rules for the old
room (a mute, a room rule) and its tags (a favourite) are copied to the new room, and their
`m.direct` lists it where it listed the old one (services/direct_rooms.py). The spec's
room upgrades module: "When a user joins the new room, the server should automatically
transfer/replicate some of the user's personalized settings such as notifications, tags, etc."

An event hook's `committed` phase: after the join has committed, never in its transaction, so a
failure here costs the user their settings on the new room, not the join (logged).
"""

from __future__ import annotations

import logging
from typing import Protocol

from typing_extensions import override

from bastion.events.types import EventType
from bastion.services.event_hooks import CommittedEvent, EventHook

log = logging.getLogger(__name__)


class RoomFollower(Protocol):
    """Something of a user's that follows them from a room to its replacement."""

    async def follow_room(self, user_id: str, old_room: str, new_room: str) -> None: ...


class UpgradedRoomJoins(EventHook):
    """Copies a joining user's settings from the predecessor room (module docstring)."""

    def __init__(self, followers: list[RoomFollower], server_name: str) -> None:
        self._followers = followers
        self._suffix = f":{server_name}"

    @override
    async def committed(self, committed: CommittedEvent) -> None:
        event = committed.event
        if event.type != EventType.MEMBER or event.state_key != event.sender:
            return
        if event.content.get("membership") != "join" or not event.sender.endswith(self._suffix):
            return
        if (event.prev_content or {}).get("membership") == "join":
            return  # a profile change, not a join
        create = committed.context.auth_state.get((EventType.CREATE, ""))
        predecessor = create.content.get("predecessor") if create is not None else None
        old_room = predecessor.get("room_id") if isinstance(predecessor, dict) else None
        if not isinstance(old_room, str):
            return
        for follower in self._followers:
            try:
                await follower.follow_room(event.sender, old_room, event.room_id)
            except Exception:
                log.warning("settings of %s did not follow %s to %s", event.sender, old_room,
                            event.room_id, exc_info=True)  # fmt: skip
