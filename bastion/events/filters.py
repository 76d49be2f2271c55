"""Event filters (spec: client-server-api#filtering): their shape and how events match them.

Event types may use `*` as a wildcard (and nothing else is special); senders and rooms match
exactly. `not_*` lists win over their positive lists.
"""

from __future__ import annotations

import re
from functools import lru_cache

import msgspec

from bastion.events.model import StoredEvent

MAX_LIMIT = 1000


class EventFilter(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """Filter for non-room events (account data, presence)."""

    limit: int | None = None
    types: list[str] | None = None
    not_types: list[str] = []
    senders: list[str] | None = None
    not_senders: list[str] = []


class RoomEventFilter(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """Filter for room events (timeline, state, /messages)."""

    limit: int | None = None
    types: list[str] | None = None
    not_types: list[str] = []
    senders: list[str] | None = None
    not_senders: list[str] = []
    rooms: list[str] | None = None
    not_rooms: list[str] = []
    contains_url: bool | None = None
    lazy_load_members: bool = False
    include_redundant_members: bool = False
    unread_thread_notifications: bool = False


class RoomFilter(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """Which rooms and which parts of them a sync returns."""

    rooms: list[str] | None = None
    not_rooms: list[str] = []
    include_leave: bool = False
    timeline: RoomEventFilter = RoomEventFilter()
    state: RoomEventFilter = RoomEventFilter()
    ephemeral: RoomEventFilter = RoomEventFilter()
    account_data: RoomEventFilter = RoomEventFilter()


class FilterDefinition(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """A complete sync filter as uploaded with `POST /user/{userId}/filter`."""

    event_fields: list[str] | None = None
    event_format: str = "client"
    presence: EventFilter = EventFilter()
    account_data: EventFilter = EventFilter()
    room: RoomFilter = RoomFilter()


@lru_cache(maxsize=1024)
def _type_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def _matches_any(value: str, patterns: list[str]) -> bool:
    return any(_type_pattern(pattern).fullmatch(value) for pattern in patterns)


def type_and_sender_match(
    f: EventFilter | RoomEventFilter, event_type: str, sender: str | None
) -> bool:
    """True if the type and sender pass the filter's lists."""
    if _matches_any(event_type, f.not_types):
        return False
    if f.types is not None and not _matches_any(event_type, f.types):
        return False
    if sender is not None and sender in f.not_senders:
        return False
    return f.senders is None or sender is None or sender in f.senders


def event_matches(f: RoomEventFilter, event: StoredEvent) -> bool:
    """True if a room event passes the filter."""
    if not type_and_sender_match(f, event.type, event.sender):
        return False
    if f.contains_url is not None:
        has_url = isinstance(event.content.get("url"), str)
        if has_url != f.contains_url:
            return False
    return room_allowed(f.rooms, f.not_rooms, event.room_id)


def room_allowed(rooms: list[str] | None, not_rooms: list[str], room_id: str) -> bool:
    """True if the room passes a rooms / not_rooms pair."""
    return room_id not in not_rooms and (rooms is None or room_id in rooms)


def effective_limit(requested: int | None, default: int) -> int:
    """A positive limit no larger than MAX_LIMIT."""
    if requested is None:
        return default
    return max(1, min(requested, MAX_LIMIT))
