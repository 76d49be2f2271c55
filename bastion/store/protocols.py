"""The storage interfaces services depend on. Concrete SQL classes live in `store/sql/`.

Every method takes the `Queryable` to run on: the Database for a single statement, or an open
Transaction when several statements must commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import msgspec

from bastion.events.model import StoredEvent
from bastion.store.database import Queryable
from bastion.store.records import (
    AccountDataRecord,
    BackupSession,
    BackupVersion,
    DeviceRecord,
    MediaRecord,
    MembershipRecord,
    NewEvent,
    ProfileRecord,
    ReceiptRecord,
    RegistrationTokenRecord,
    RoomRecord,
    ThumbnailRecord,
    TokenOwner,
    UserRecord,
)


class UserStore(Protocol):
    """Accounts."""

    async def insert_user(
        self, q: Queryable, user_id: str, password_hash: str | None, *, is_admin: bool, now_ms: int
    ) -> None: ...
    async def get_user(self, q: Queryable, user_id: str) -> UserRecord | None: ...
    async def list_users(self, q: Queryable) -> list[UserRecord]: ...
    async def has_active_admin(self, q: Queryable) -> bool: ...
    async def update_password_hash(
        self, q: Queryable, user_id: str, password_hash: str
    ) -> None: ...
    async def set_deactivated(self, q: Queryable, user_id: str) -> None: ...
    async def record_failed_login(
        self, q: Queryable, user_id: str, *, lock_after: int, locked_until_ts: int
    ) -> int: ...
    async def clear_failed_logins(self, q: Queryable, user_id: str) -> None: ...


class DeviceStore(Protocol):
    """Devices and the access tokens issued to them."""

    async def ensure_device(
        self, q: Queryable, user_id: str, device_id: str, display_name: str | None, now_ms: int
    ) -> None: ...
    async def get_device(
        self, q: Queryable, user_id: str, device_id: str
    ) -> DeviceRecord | None: ...
    async def list_devices(self, q: Queryable, user_id: str) -> list[DeviceRecord]: ...
    async def set_display_name(
        self, q: Queryable, user_id: str, device_id: str, display_name: str | None
    ) -> bool: ...
    async def delete_devices(self, q: Queryable, user_id: str, device_ids: list[str]) -> None: ...
    async def delete_all_devices(
        self, q: Queryable, user_id: str, *, keep_device_id: str | None = None
    ) -> None: ...
    async def insert_token(
        self, q: Queryable, token_hash: str, user_id: str, device_id: str, now_ms: int
    ) -> None: ...
    async def delete_device_tokens(self, q: Queryable, user_id: str, device_id: str) -> None: ...
    async def find_token_owner(self, q: Queryable, token_hash: str) -> TokenOwner | None: ...
    async def touch_device(
        self, q: Queryable, user_id: str, device_id: str, now_ms: int, ip: str | None
    ) -> None: ...


class ProfileStore(Protocol):
    """Display names and avatars."""

    async def get_profile(self, q: Queryable, user_id: str) -> ProfileRecord | None: ...
    async def set_displayname(self, q: Queryable, user_id: str, value: str | None) -> None: ...
    async def set_avatar_url(self, q: Queryable, user_id: str, value: str | None) -> None: ...


class RegistrationTokenStore(Protocol):
    """Tokens that admit self-registration."""

    async def insert_token(
        self, q: Queryable, token: str, uses_allowed: int | None, expiry_ts: int | None, now_ms: int
    ) -> None: ...
    async def get_token(self, q: Queryable, token: str) -> RegistrationTokenRecord | None: ...
    async def list_tokens(self, q: Queryable) -> list[RegistrationTokenRecord]: ...
    async def delete_token(self, q: Queryable, token: str) -> bool: ...
    async def consume_token(self, q: Queryable, token: str, now_ms: int) -> bool: ...


class UiaSessionStore(Protocol):
    """User-Interactive Auth sessions."""

    async def insert_session(self, q: Queryable, session_id: str, now_ms: int) -> None: ...
    async def session_exists(
        self, q: Queryable, session_id: str, created_after_ms: int
    ) -> bool: ...
    async def delete_session(self, q: Queryable, session_id: str) -> None: ...
    async def delete_sessions_before(self, q: Queryable, created_before_ms: int) -> None: ...


StateKey = tuple[str, str]
JsonObject = dict[str, Any]


class RoomStore(Protocol):
    """Rooms, the end of their history, and aliases."""

    async def insert_room(self, q: Queryable, room: RoomRecord, *, now_ms: int) -> None: ...
    async def get_room(self, q: Queryable, room_id: str) -> RoomRecord | None: ...
    async def advance(
        self, q: Queryable, room_id: str, *, expected_last: str, new_last: str, depth: int
    ) -> bool: ...
    async def set_public(self, q: Queryable, room_id: str, *, is_public: bool) -> None: ...
    async def insert_alias(
        self, q: Queryable, alias: str, room_id: str, creator: str, now_ms: int
    ) -> None: ...
    async def get_alias(self, q: Queryable, alias: str) -> tuple[str, str] | None: ...
    async def delete_alias(self, q: Queryable, alias: str) -> None: ...
    async def aliases_of_room(self, q: Queryable, room_id: str) -> list[str]: ...


class EventStore(Protocol):
    """Room events and the transaction IDs that created them."""

    async def insert_event(self, q: Queryable, new: NewEvent) -> None: ...
    async def get_event(self, q: Queryable, event_id: str) -> StoredEvent | None: ...
    async def get_events(
        self, q: Queryable, event_ids: Sequence[str]
    ) -> dict[str, StoredEvent]: ...
    async def get_pdu(self, q: Queryable, event_id: str) -> str | None: ...
    async def set_redacted_by(self, q: Queryable, event_id: str, redaction_id: str) -> None: ...
    async def room_events_between(
        self, q: Queryable, room_id: str, *, after: int, before: int, limit: int, newest_first: bool
    ) -> list[StoredEvent]: ...
    async def recent_events_in_rooms(
        self, q: Queryable, room_ids: Sequence[str], *, after: int, upto: int, limit: int
    ) -> list[StoredEvent]: ...
    async def rooms_with_events_between(
        self, q: Queryable, user_id: str, *, after: int, upto: int
    ) -> dict[str, int]: ...
    async def state_value_timeline(
        self, q: Queryable, room_id: str, event_type: str, state_key: str
    ) -> list[tuple[int, str]]: ...
    async def event_near_time(
        self, q: Queryable, room_id: str, ts: int, *, forwards: bool
    ) -> StoredEvent | None: ...
    async def find_txn(
        self, q: Queryable, user_id: str, device_id: str, txn_id: str
    ) -> str | None: ...
    async def insert_txn(
        self, q: Queryable, user_id: str, device_id: str, txn_id: str, event_id: str, now_ms: int
    ) -> None: ...
    async def max_position(self, q: Queryable) -> int: ...


class StateStore(Protocol):
    """Current and historical room state."""

    async def set_current(
        self, q: Queryable, room_id: str, key: StateKey, event_id: str, position: int
    ) -> None: ...
    async def current_events(
        self, q: Queryable, room_id: str, keys: Sequence[StateKey]
    ) -> dict[StateKey, StoredEvent]: ...
    async def current_state(
        self, q: Queryable, room_id: str, *, types: Sequence[str] | None = None
    ) -> list[StoredEvent]: ...
    async def current_state_changed_after(
        self, q: Queryable, room_id: str, position: int
    ) -> list[StoredEvent]: ...
    async def state_at(
        self, q: Queryable, room_id: str, position: int, *, event_type: str | None = None
    ) -> list[StoredEvent]: ...


class MembershipStore(Protocol):
    """Current memberships, by user and by room."""

    async def set_membership(
        self,
        q: Queryable,
        user_id: str,
        room_id: str,
        membership: str,
        event_id: str,
        position: int,
    ) -> None: ...
    async def get_membership(
        self, q: Queryable, user_id: str, room_id: str
    ) -> MembershipRecord | None: ...
    async def rooms_of_user(
        self, q: Queryable, user_id: str, memberships: Sequence[str]
    ) -> list[MembershipRecord]: ...
    async def changed_after(
        self, q: Queryable, user_id: str, *, after: int, upto: int
    ) -> list[MembershipRecord]: ...
    async def members(
        self, q: Queryable, room_id: str, memberships: Sequence[str]
    ) -> list[str]: ...
    async def member_counts(
        self, q: Queryable, room_ids: Sequence[str]
    ) -> dict[str, dict[str, int]]: ...
    async def forget(self, q: Queryable, user_id: str, room_id: str) -> None: ...


class AccountDataStore(Protocol):
    """Account data and sync filters."""

    async def put(
        self,
        q: Queryable,
        user_id: str,
        room_id: str,
        data_type: str,
        content: dict[str, Any],
        stream_id: int,
    ) -> None: ...
    async def get(
        self, q: Queryable, user_id: str, room_id: str, data_type: str
    ) -> dict[str, Any] | None: ...
    async def changed_after(
        self, q: Queryable, user_id: str, *, after: int, upto: int
    ) -> list[AccountDataRecord]: ...
    async def insert_filter(
        self, q: Queryable, user_id: str, filter_id: str, definition: str
    ) -> None: ...
    async def get_filter(self, q: Queryable, user_id: str, filter_id: str) -> str | None: ...
    async def count_filters(self, q: Queryable, user_id: str) -> int: ...


class KeyStore(Protocol):
    """Encryption keys, signatures and the device-list change log."""

    async def put_device_keys(
        self, q: Queryable, user_id: str, device_id: str, keys: JsonObject
    ) -> None: ...
    async def device_keys(
        self, q: Queryable, user_ids: Sequence[str]
    ) -> dict[tuple[str, str], tuple[JsonObject, str | None]]: ...
    async def delete_device_keys(
        self,
        q: Queryable,
        user_id: str,
        device_ids: Sequence[str] | None,
        *,
        keep_device_id: str | None = None,
    ) -> None: ...
    async def add_one_time_keys(
        self,
        q: Queryable,
        user_id: str,
        device_id: str,
        keys: Sequence[tuple[str, str, JsonObject | str]],
    ) -> None: ...
    async def one_time_key_counts(
        self, q: Queryable, user_id: str, device_id: str
    ) -> dict[str, int]: ...
    async def claim_one_time_key(
        self, q: Queryable, user_id: str, device_id: str, algorithm: str
    ) -> tuple[str, JsonObject | str] | None: ...
    async def set_fallback_key(
        self,
        q: Queryable,
        user_id: str,
        device_id: str,
        algorithm: str,
        key_id: str,
        key: JsonObject | str,
    ) -> None: ...
    async def use_fallback_key(
        self, q: Queryable, user_id: str, device_id: str, algorithm: str
    ) -> tuple[str, JsonObject | str] | None: ...
    async def key_counts(
        self, q: Queryable, user_id: str, device_id: str
    ) -> tuple[dict[str, int], list[str]]: ...
    async def put_cross_signing_key(
        self, q: Queryable, user_id: str, key_type: str, key: JsonObject
    ) -> None: ...
    async def cross_signing_keys(
        self, q: Queryable, user_ids: Sequence[str]
    ) -> dict[tuple[str, str], JsonObject]: ...
    async def put_signature(
        self, q: Queryable, signer: tuple[str, str], target: tuple[str, str], signature: str
    ) -> None: ...
    async def signatures_for(
        self, q: Queryable, target_user_ids: Sequence[str]
    ) -> list[tuple[str, str, str, str, str]]: ...
    async def record_device_list_change(
        self, q: Queryable, user_id: str, position: int
    ) -> None: ...
    async def device_list_changes(
        self, q: Queryable, viewer: str, *, after: int, upto: int
    ) -> list[str]: ...
    async def users_sharing_rooms(
        self, q: Queryable, viewer: str, candidates: Sequence[str]
    ) -> set[str]: ...
    async def users_sharing_any_room(self, q: Queryable, user_id: str) -> set[str]: ...
    async def membership_moves(
        self, q: Queryable, viewer: str, *, after: int, upto: int
    ) -> tuple[set[str], set[str]]: ...
    async def users_with_device_list_changes(
        self, q: Queryable, *, after: int, upto: int
    ) -> list[str]: ...


class MediaStore(Protocol):
    """Media IDs (reservations and uploads) and their thumbnails."""

    async def insert_media(self, q: Queryable, media: MediaRecord) -> None: ...
    async def get_media(self, q: Queryable, media_id: str) -> MediaRecord | None: ...
    async def set_uploaded(self, q: Queryable, media: MediaRecord) -> bool: ...
    async def count_pending(self, q: Queryable, user_id: str, now_ms: int) -> int: ...
    async def delete_expired_reservations(self, q: Queryable, user_id: str, now_ms: int) -> int: ...
    async def get_thumbnail(
        self, q: Queryable, media_id: str, width: int, height: int, method: str
    ) -> ThumbnailRecord | None: ...
    async def insert_thumbnail(self, q: Queryable, thumbnail: ThumbnailRecord) -> None: ...


class ToDeviceStore(Protocol):
    """Per-device inboxes of to-device messages."""

    async def insert_messages(
        self, q: Queryable, rows: Sequence[tuple[int, str, str, str, str, dict[str, Any]]]
    ) -> None: ...
    async def pending(
        self, q: Queryable, user_id: str, device_id: str, *, upto: int, limit: int
    ) -> list[tuple[int, dict[str, Any]]]: ...
    async def delete_delivered(
        self, q: Queryable, user_id: str, device_id: str, upto: int
    ) -> int: ...
    async def remember_txn(
        self, q: Queryable, user_id: str, device_id: str, txn_id: str, now_ms: int
    ) -> bool: ...


class KeyBackupStore(Protocol):
    """Server-side key backup versions and sessions."""

    async def create_version(
        self, q: Queryable, user_id: str, algorithm: str, auth_data: dict[str, Any]
    ) -> int: ...
    async def get_version(
        self, q: Queryable, user_id: str, version: int | None
    ) -> BackupVersion | None: ...
    async def update_auth_data(
        self, q: Queryable, user_id: str, version: int, auth_data: dict[str, Any]
    ) -> None: ...
    async def delete_version(self, q: Queryable, user_id: str, version: int) -> None: ...
    async def bump_etag(self, q: Queryable, user_id: str, version: int) -> None: ...
    async def get_session(
        self, q: Queryable, user_id: str, version: int, room_id: str, session_id: str
    ) -> BackupSession | None: ...
    async def put_session(
        self, q: Queryable, user_id: str, version: int, session: BackupSession
    ) -> None: ...
    async def sessions(
        self,
        q: Queryable,
        user_id: str,
        version: int,
        *,
        room_id: str | None = None,
        session_id: str | None = None,
    ) -> list[BackupSession]: ...
    async def delete_sessions(
        self,
        q: Queryable,
        user_id: str,
        version: int,
        *,
        room_id: str | None,
        session_id: str | None,
    ) -> None: ...
    async def count_sessions(self, q: Queryable, user_id: str, version: int) -> int: ...


class ReceiptStore(Protocol):
    """Read receipts."""

    async def put_receipt(self, q: Queryable, receipt: ReceiptRecord) -> None: ...
    async def receipts_changed(
        self, q: Queryable, viewer: str, *, after: int, upto: int
    ) -> list[ReceiptRecord]: ...
    async def receipts_in_rooms(
        self, q: Queryable, room_ids: Sequence[str]
    ) -> list[ReceiptRecord]: ...


class RelationRecord(msgspec.Struct, frozen=True):
    """One child event's relationship to its parent: an `event_relations` row."""

    event_id: str
    relates_to_id: str
    rel_type: str
    aggregation_key: str | None
    room_id: str
    type: str
    sender: str
    stream_ordering: int
    origin_server_ts: int


class ChildrenQuery(msgspec.Struct, frozen=True):
    """A page of a parent's children in `after < stream_ordering < before`, walking up to
    `max_depth` relationships deep; `rel_type` and `event_type` filter every level."""

    parent_id: str
    room_id: str
    after: int
    before: int
    limit: int
    newest_first: bool = True
    max_depth: int = 1
    rel_type: str | None = None
    event_type: str | None = None


class AggregationRow(msgspec.Struct, frozen=True):
    """A child chosen for a bundled aggregation (the latest thread event, the latest edit by the
    parent's sender, or one reference), with the count of the parent's children of that
    `rel_type` and whether `viewer` sent one of them."""

    rel_type: str
    relates_to_id: str
    count: int
    viewer_participated: bool
    event: StoredEvent


class RelationStore(Protocol):
    """Relationships between events, and the threads they form."""

    async def insert_relation(self, q: Queryable, relation: RelationRecord) -> None: ...
    async def delete_relation(self, q: Queryable, event_id: str) -> RelationRecord | None: ...
    async def get_relation(self, q: Queryable, event_id: str) -> RelationRecord | None: ...
    async def has_annotation(
        self, q: Queryable, parent_id: str, sender: str, event_type: str, key: str
    ) -> bool: ...
    async def touch_thread(
        self, q: Queryable, room_id: str, thread_id: str, event_id: str, position: int
    ) -> None: ...
    async def refresh_thread(self, q: Queryable, room_id: str, thread_id: str) -> None: ...
    async def children(self, q: Queryable, query: ChildrenQuery) -> list[StoredEvent]: ...
    async def aggregation_rows(
        self, q: Queryable, parent_ids: Sequence[str], viewer: str
    ) -> list[AggregationRow]: ...
    async def thread_roots(
        self, q: Queryable, room_id: str, *, upto: int, limit: int, participant: str | None
    ) -> list[tuple[StoredEvent, int]]: ...


class SearchEntry(msgspec.Struct, frozen=True):
    """The searchable text of one event, as normalised tokens: an `event_search` row."""

    stream_ordering: int
    room_id: str
    sender: str
    key: str  # the spec's search key: content.body, content.name or content.topic
    tokens: list[str]


class SearchPhrase(msgspec.Struct, frozen=True):
    """Tokens that must appear next to each other, in order; `prefix`: the last one may be the
    beginning of a longer token."""

    tokens: list[str]
    prefix: bool = False


class SearchScope(msgspec.Struct, frozen=True):
    """A room to search, up to position `upto` inclusive (None: no upper bound)."""

    room_id: str
    upto: int | None = None


class SearchQuery(msgspec.Struct, frozen=True):
    """One window of matches of every phrase: best rank first (`by_rank`), skipping `offset`,
    or newest first below position `before`. Redacted events never match."""

    phrases: list[SearchPhrase]
    rooms: list[SearchScope]
    keys: list[str]
    limit: int
    by_rank: bool = True
    offset: int = 0
    before: int | None = None
    senders: list[str] | None = None
    not_senders: list[str] = []


class SearchHit(msgspec.Struct, frozen=True):
    """A matching event and its relevance (higher is better)."""

    rank: float
    event: StoredEvent


class SearchStore(Protocol):
    """The full-text index of room events."""

    async def insert_entries(self, q: Queryable, entries: Sequence[SearchEntry]) -> None: ...
    async def delete_event(self, q: Queryable, event_id: str) -> None: ...
    async def find_hits(self, q: Queryable, query: SearchQuery) -> list[SearchHit]: ...
    async def get_backfill_position(self, q: Queryable) -> int: ...
    async def set_backfill_position(self, q: Queryable, position: int) -> None: ...
    async def events_to_backfill(
        self, q: Queryable, *, upto: int, types: Sequence[str], limit: int
    ) -> list[StoredEvent]: ...
