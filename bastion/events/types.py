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


SUPPORTED_ROOM_VERSIONS = ("10", "11", "12")
DEFAULT_ROOM_VERSION = "12"
