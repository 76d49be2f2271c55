"""Room, event, state, membership, account-data and receipt stores.

See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bastion.events.model import StoredEvent
from bastion.store.database import Queryable
from bastion.store.records import (
    AccountDataRecord,
    MembershipRecord,
    NewEvent,
    PrunedEvent,
    ReceiptRecord,
    RoomRecord,
    SendTxn,
)

StateKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class OpenedRoom:
    """What a writer reads once it holds a room (`RoomStore.open_room`): the room, its end's
    stream position, the current state events of the keys asked for (absent ones left out) and
    the events already stored for the txn IDs asked for."""

    room: RoomRecord
    end_position: int
    current: dict[StateKey, StoredEvent]
    stored: dict[SendTxn, StoredEvent]


class RoomStore(Protocol):
    """Rooms, the end of their history, and aliases."""

    async def insert_room(self, q: Queryable, room: RoomRecord, *, now_ms: int) -> bool: ...
    async def get_room(self, q: Queryable, room_id: str) -> RoomRecord | None: ...
    async def room_versions(self, q: Queryable, room_ids: Sequence[str]) -> dict[str, str]: ...
    async def lock_room(self, q: Queryable, room_id: str) -> tuple[RoomRecord, int] | None: ...
    async def open_room(
        self, q: Queryable, room_id: str, keys: Sequence[StateKey], txns: Sequence[SendTxn]
    ) -> OpenedRoom | None: ...
    async def advance(
        self, q: Queryable, room_id: str, *, expected_last: str, new_last: str, depth: int
    ) -> bool: ...
    async def advance_with_txns(
        self, q: Queryable, room_id: str, *, expected_last: str, new_last: str, depth: int,
        txns: Sequence[tuple[SendTxn, str]], now_ms: int,
    ) -> bool: ...  # fmt: skip
    async def append_messages(
        self, q: Queryable, room_id: str, *, expected_last: str, events: Sequence[NewEvent],
        txns: Sequence[tuple[SendTxn, str]], now_ms: int,
    ) -> bool: ...  # fmt: skip
    async def set_public(self, q: Queryable, room_id: str, *, is_public: bool) -> None: ...
    async def insert_alias(
        self, q: Queryable, alias: str, room_id: str, creator: str, now_ms: int
    ) -> bool: ...
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
    async def set_redacted_by(self, q: Queryable, event_id: str, redaction_id: str) -> bool: ...
    async def replace_with_redacted(self, q: Queryable, pruned: PrunedEvent) -> None: ...
    async def redacted_not_pruned(self, q: Queryable, limit: int) -> list[tuple[str, str, str]]: ...
    async def room_events_between(
        self, q: Queryable, room_id: str, *, after: int, before: int, limit: int, newest_first: bool
    ) -> list[StoredEvent]: ...
    async def recent_events_in_rooms(
        self, q: Queryable, room_ids: Sequence[str], *, after: int, upto: int, limit: int
    ) -> list[StoredEvent]: ...
    async def state_value_timeline(
        self, q: Queryable, room_id: str, event_type: str, state_key: str
    ) -> list[tuple[int, str]]: ...
    async def event_near_time(
        self, q: Queryable, room_id: str, ts: int, *, forwards: bool
    ) -> StoredEvent | None: ...
    async def find_txn(self, q: Queryable, txn: SendTxn) -> str | None: ...
    async def insert_txn(self, q: Queryable, txn: SendTxn, event_id: str, now_ms: int) -> None: ...
    async def insert_events(self, q: Queryable, news: Sequence[NewEvent]) -> None: ...
    async def find_txn_events(
        self, q: Queryable, txns: Sequence[SendTxn]
    ) -> dict[SendTxn, StoredEvent]: ...
    async def insert_txns(
        self, q: Queryable, txns: Sequence[tuple[SendTxn, str]], now_ms: int
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
    async def current_state_selected(
        self, q: Queryable, room_id: str, types: Sequence[str], members: Sequence[str]
    ) -> list[StoredEvent]: ...
    async def current_state_selected_in_rooms(
        self, q: Queryable, room_ids: Sequence[str], types: Sequence[str], members: Sequence[str]
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
    async def get_of_users(
        self, q: Queryable, user_ids: Sequence[str], data_type: str
    ) -> dict[str, dict[str, Any]]: ...
    async def changed_after(
        self, q: Queryable, user_id: str, *, after: int, upto: int
    ) -> list[AccountDataRecord]: ...
    async def insert_filter(
        self, q: Queryable, user_id: str, filter_id: str, definition: str
    ) -> None: ...
    async def get_filter(self, q: Queryable, user_id: str, filter_id: str) -> str | None: ...
    async def count_filters(self, q: Queryable, user_id: str) -> int: ...


class ReceiptStore(Protocol):
    """Read receipts."""

    async def put_receipt(self, q: Queryable, receipt: ReceiptRecord) -> None: ...
    async def receipts_changed(
        self, q: Queryable, viewer: str, *, after: int, upto: int
    ) -> list[ReceiptRecord]: ...
    async def receipts_in_rooms(
        self, q: Queryable, room_ids: Sequence[str]
    ) -> list[ReceiptRecord]: ...
