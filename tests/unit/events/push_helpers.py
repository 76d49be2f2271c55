"""Helpers shared by the push rule unit tests (test_push_*.py): users, tweaks, events, and testing
one condition on its own."""

from __future__ import annotations

from typing import Any

from bastion.events.power_levels import PowerLevels
from bastion.events.push_rules.conditions import PushEvent, RoomFacts, compile_condition

ALICE = "@alice:example.org"
BOB = "@bob:example.org"
CAROL = "@carol:example.org"
ROOM = "!room:example.org"
SOUND = {"set_tweak": "sound", "value": "default"}
HIGHLIGHT = {"set_tweak": "highlight"}
# Marks "leave the property out of the event" in parametrized cases.
MISSING = object()


def holds(
    condition: object,
    event: dict[str, Any],
    *,
    members: int = 3,
    sender: str = BOB,
    power: PowerLevels | None = None,
    name: str | None = None,
) -> bool:
    """Whether `condition`, compiled, holds for `event` in a room of `members`."""
    compiled = compile_condition(condition)
    return compiled.test(PushEvent(event), RoomFacts(members, sender, power), name)


def with_content(content: dict[str, Any], event_type: str = "m.room.message") -> dict[str, Any]:
    """An event of `event_type` sent by Bob with `content`."""
    return {"type": event_type, "sender": BOB, "room_id": ROOM, "content": content}


def match(key: str, pattern: str) -> dict[str, Any]:
    return {"kind": "event_match", "key": key, "pattern": pattern}
