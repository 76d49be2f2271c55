"""Rows as typed values: what the stores hand to the services."""

from __future__ import annotations

from typing import Any

import msgspec

from bastion.events.model import StoredEvent


class UserRecord(msgspec.Struct, frozen=True):
    """An account."""

    user_id: str
    password_hash: str | None
    is_admin: bool
    is_deactivated: bool
    created_ts: int
    failed_logins: int
    locked_until_ts: int  # the lockout after wrong passwords ends then (0: not locked out)
    manager: str | None = None  # successor on offboarding; SCIM's enterprise manager
    admin_locked: bool = False  # locked by an admin until unlocked (Synapse's `locked`)
    suspended: bool = False  # suspended by an admin: reads, no room actions (suspensions.py)
    shadow_banned: bool = False  # its actions reach no one, unknown to it (shadow_ban.py)


class DeviceRecord(msgspec.Struct, frozen=True):
    """A device (one login session and its tokens)."""

    user_id: str
    device_id: str
    display_name: str | None
    created_ts: int
    last_seen_ts: int | None
    last_seen_ip: str | None


class PrunedEvent(msgspec.Struct, frozen=True):
    """The redacted form of a redacted event, to store in place of its original."""

    event_id: str
    room_id: str
    type: str
    state_key: str | None  # a state event's successor holds a copy of its content
    pdu_json: str
    content_json: str
    redacted_ts: int


class SendTxn(msgspec.Struct, frozen=True):
    """A client's send, for idempotency: one device, one endpoint, one transaction ID.

    spec (client-server-api, "Transaction identifiers"): "The scope of a transaction ID is for a
    single device, and a single HTTP endpoint." `endpoint` is the request path without the
    transaction ID (`send/{roomId}/{eventType}`, `redact/{roomId}/{eventId}`), so the same ID
    reused in another room or for another event type is a new request, never a retransmission.
    """

    user_id: str
    device_id: str
    endpoint: str
    txn_id: str


class TokenOwner(msgspec.Struct, frozen=True):
    """Who an access token belongs to, with what auth needs on every request."""

    user_id: str
    device_id: str
    is_admin: bool
    is_deactivated: bool
    last_seen_ts: int | None
    admin_locked: bool = False  # an admin's lock: 401 M_USER_LOCKED on all but logout
    ratelimit: tuple[int, int] | None = None  # an admin's override: (per second, burst)
    shadow_banned: bool = False  # its actions are answered but reach no one (shadow_ban.py)


class ProfileRecord(msgspec.Struct, frozen=True):
    """A user's public profile."""

    displayname: str | None
    avatar_url: str | None


class RegistrationTokenRecord(msgspec.Struct, frozen=True):
    """A token that lets its holder register an account while it has uses left."""

    token: str
    uses_allowed: int | None
    completed: int
    expiry_ts: int | None
    created_ts: int


class RoomRecord(msgspec.Struct, frozen=True):
    """A room and the end of its history."""

    room_id: str
    room_version: str
    creator: str
    is_public: bool
    last_event_id: str
    depth: int


class MembershipRecord(msgspec.Struct, frozen=True):
    """A user's current membership in one room."""

    user_id: str
    room_id: str
    membership: str
    event_id: str
    stream_ordering: int
    forgotten: bool


class AccountDataRecord(msgspec.Struct, frozen=True):
    """One account-data entry; room_id is '' for global data."""

    room_id: str
    type: str
    content: dict[str, Any]
    stream_id: int


# The state types whose value the events table keeps in its own column, `state_value`, so that
# it is read without decoding content: membership (visibility timelines, memberships), history
# visibility (visibility timelines, the user directory) and join rules (the user directory finds
# members of public rooms). Each maps to the content field holding the value.
STATE_VALUE_FIELDS: dict[str, str] = {
    "m.room.member": "membership",
    "m.room.history_visibility": "history_visibility",
    "m.room.join_rules": "join_rule",
}


class NewEvent(msgspec.Struct, frozen=True):
    """A fully built event ready to insert."""

    event: StoredEvent
    pdu_json: str
    state_value: str | None

    @classmethod
    def of(cls, event: StoredEvent, pdu_json: str) -> NewEvent:
        """`event` with its `state_value` (see STATE_VALUE_FIELDS)."""
        field = STATE_VALUE_FIELDS.get(event.type)
        value = event.content.get(field) if field is not None else None
        return cls(event, pdu_json, value if isinstance(value, str) else None)


class MediaRecord(msgspec.Struct, frozen=True):
    """A media ID: reserved by /create (uploaded_ts None) or holding an uploaded file."""

    media_id: str
    user_id: str
    created_ts: int
    unused_expires_ts: int | None
    uploaded_ts: int | None
    content_type: str | None
    upload_name: str | None
    size: int | None
    sha256: str | None
    quarantined_by: str | None = None  # who took it out of reach (services/media/admin.py)
    quarantined_ts: int | None = None
    safe_from_quarantine: bool = False  # protected by an admin: quarantine passes over it
    last_access_ts: int | None = None  # last served (to the hour): deletion by date reads it


class ThumbnailRecord(msgspec.Struct, frozen=True):
    """A generated thumbnail, keyed by the size and method asked for."""

    media_id: str
    width: int
    height: int
    method: str
    content_type: str
    size: int
    created_ts: int


class BackupVersion(msgspec.Struct, frozen=True):
    """One backup version of a user."""

    version: int
    algorithm: str
    auth_data: dict[str, Any]
    etag: int


class BackupSession(msgspec.Struct, frozen=True):
    """One backed-up room key."""

    room_id: str
    session_id: str
    first_message_index: int
    forwarded_count: int
    is_verified: bool
    session_data: dict[str, Any]


class ReceiptRecord(msgspec.Struct, frozen=True):
    """A user's newest receipt of one type (and thread) in a room."""

    room_id: str
    receipt_type: str
    user_id: str
    thread_id: str
    event_id: str
    ts: int
    stream_id: int
