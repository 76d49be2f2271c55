"""EventContext: hooks get the power levels the pipeline authorised the event against."""

from __future__ import annotations

from typing import Any

from bastion.events.model import StoredEvent
from bastion.services.event_hooks import EventContext
from bastion.store.records import RoomRecord

CREATOR = "@alice:example.org"


def _state(event_type: str, content: dict[str, Any], position: int) -> StoredEvent:
    return StoredEvent(
        stream_ordering=position, event_id=f"$e{position}", room_id="!r:example.org",
        type=event_type, sender=CREATOR, content=content, origin_server_ts=0, depth=position,
        state_key="",
    )  # fmt: skip


def _context(version: str, power: dict[str, Any] | None) -> EventContext:
    room = RoomRecord("!r:example.org", version, CREATOR, False, "$e2", 2)
    state = {("m.room.create", ""): _state("m.room.create", {"room_version": version}, 1)}
    if power is not None:
        state[("m.room.power_levels", "")] = _state("m.room.power_levels", power, 2)
    return EventContext(room, state)


def test_power_levels_come_from_the_auth_state_of_the_rooms_version() -> None:
    context = _context("11", {"users": {"@bob:example.org": 50}, "users_default": 5})
    levels = context.power_levels()
    assert levels.user_level("@bob:example.org") == 50
    assert levels.user_level("@carol:example.org") == 5
    assert context.power_levels() is levels  # parsed once per event


def test_a_v12_creator_outranks_everyone_without_a_power_levels_event() -> None:
    levels = _context("12", None).power_levels()
    assert levels.user_level(CREATOR) == float("inf")
    assert levels.user_level("@bob:example.org") == 0
