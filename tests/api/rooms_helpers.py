"""Small readers for /sync and /messages responses used by the room tests."""

from __future__ import annotations

from typing import Any


def timeline(sync: dict[str, Any], room_id: str, section: str = "join") -> list[dict[str, Any]]:
    """Timeline events of one room in a sync response ([] if the room is absent)."""
    room = sync["rooms"][section].get(room_id)
    return [] if room is None else list(room["timeline"]["events"])


def bodies(events: list[dict[str, Any]]) -> list[str]:
    """The `body` of each message event."""
    return [
        e["content"]["body"]
        for e in events
        if e["type"] == "m.room.message" and "body" in e["content"]
    ]


def state_types(sync: dict[str, Any], room_id: str) -> set[tuple[str, str]]:
    """(type, state_key) of the state section of a joined room."""
    events = sync["rooms"]["join"][room_id]["state"]["events"]
    return {(e["type"], e["state_key"]) for e in events}
