"""Event types, memberships, join rules and visibility values as the spec spells them."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    """Room event types the server itself reasons about."""

    CREATE = "m.room.create"
    MEMBER = "m.room.member"
    POWER_LEVELS = "m.room.power_levels"
    JOIN_RULES = "m.room.join_rules"
    HISTORY_VISIBILITY = "m.room.history_visibility"
    GUEST_ACCESS = "m.room.guest_access"
    NAME = "m.room.name"
    TOPIC = "m.room.topic"
    AVATAR = "m.room.avatar"
    CANONICAL_ALIAS = "m.room.canonical_alias"
    ENCRYPTION = "m.room.encryption"
    REDACTION = "m.room.redaction"
    THIRD_PARTY_INVITE = "m.room.third_party_invite"
    MESSAGE = "m.room.message"
    SERVER_ACL = "m.room.server_acl"
    TOMBSTONE = "m.room.tombstone"


class Membership(StrEnum):
    """`content.membership` of m.room.member."""

    JOIN = "join"
    INVITE = "invite"
    LEAVE = "leave"
    BAN = "ban"
    KNOCK = "knock"


class JoinRule(StrEnum):
    """`content.join_rule` of m.room.join_rules."""

    PUBLIC = "public"
    INVITE = "invite"
    KNOCK = "knock"
    RESTRICTED = "restricted"
    KNOCK_RESTRICTED = "knock_restricted"
    PRIVATE = "private"


class HistoryVisibility(StrEnum):
    """`content.history_visibility` of m.room.history_visibility."""

    WORLD_READABLE = "world_readable"
    SHARED = "shared"
    INVITED = "invited"
    JOINED = "joined"


# Versions 7 to 9 are served for Element Web, which asks for them by name: 9 when it makes a
# room of a space that the space's members may join, 7 for a room people knock on ("ask to
# join"). Each added one thing to the one before: v7 knocking, v8 restricted join rules, v9 the
# redaction of their joins, v10 the `knock_restricted` join rule and integer-only power levels
# (asked for here in every version: before v10 "50" also meant 50, which no current client
# sends).
SUPPORTED_ROOM_VERSIONS = ("7", "8", "9", "10", "11", "12")
DEFAULT_ROOM_VERSION = "12"
_BEFORE_V11 = frozenset({"7", "8", "9", "10"})


def before_v11(room_version: str) -> bool:
    """Room versions 7 to 10: the creator named in the create event's `content.creator`, and
    the older redaction algorithm (v11 changed both)."""
    return room_version in _BEFORE_V11


def has_restricted_rooms(room_version: str) -> bool:
    """The `restricted` join rule exists from room version 8."""
    return room_version != "7"


def has_knock_restricted(room_version: str) -> bool:
    """The `knock_restricted` join rule exists from room version 10."""
    return room_version not in ("7", "8", "9")
