"""Small readers for /sync and /messages responses used by the room tests, and a room with
some history to read."""

from __future__ import annotations

from typing import Any

from tests.conftest import Homeserver, UserClient


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


async def room_with_history(
    hs: Homeserver, visibility: str
) -> tuple[UserClient, UserClient, str, str]:
    """alice's public room with `visibility` and one message sent before bob is in it:
    (alice, bob, room_id, the message's event ID)."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(
        preset="public_chat",
        initial_state=[
            {"type": "m.room.history_visibility", "content": {"history_visibility": visibility}}
        ],
    )
    early = await alice.send_text(room_id, "before bob")
    return alice, bob, room_id, early


async def state_content(
    client: UserClient, room_id: str, event_type: str, state_key: str = ""
) -> dict[str, Any]:
    """The content of a room's current state event; fails the test if it cannot be read."""
    resp = await client.get(f"/rooms/{room_id}/state/{event_type}/{state_key}")
    assert resp.status_code == 200, resp.text
    content: dict[str, Any] = resp.json()
    return content
