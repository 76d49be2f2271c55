"""Encryption key, to-device and key-backup stores.

See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from bastion.json_types import JsonObject
from bastion.store.database import Queryable
from bastion.store.records import (
    BackupSession,
    BackupVersion,
    SendTxn,
)


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
    async def key_counts_of_users(
        self, q: Queryable, user_ids: Sequence[str]
    ) -> tuple[dict[str, dict[str, dict[str, int]]], dict[str, dict[str, list[str]]]]: ...
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
    async def stream_messages(
        self, q: Queryable, after: int, upto: int, limit: int
    ) -> list[tuple[int, str, str, dict[str, Any]]]: ...
    async def remember_txn(self, q: Queryable, txn: SendTxn, now_ms: int) -> bool: ...


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
