"""Storage interfaces of retention and legal hold (migrations/0023_create_legal_holds.sql).

Every destructive method here excludes held events in its own SQL (store/sql/holds.py's
`not_held`), so no caller can delete what an active legal hold covers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from bastion.store.database import Queryable


class HoldRow(msgspec.Struct, frozen=True, kw_only=True):
    """One legal hold; active while `released_ts` is None."""

    hold_id: str
    case: str
    reason: str
    users: list[str]
    rooms: list[str]
    created_by: str
    created_ts: int
    released_by: str | None = None
    released_ts: int | None = None


class PurgedEvent(msgspec.Struct, frozen=True):
    """An event the purge deleted (or, in a dry run, would delete)."""

    stream_ordering: int
    event_id: str
    pdu: str


class DeletedMedia(msgspec.Struct, frozen=True):
    """A media row the purge deleted, and its thumbnails (width, height, method)."""

    media_id: str
    thumbnails: list[tuple[int, int, str]]


class HoldStore(Protocol):
    """Holds, and the hold store of redacted held events' originals."""

    async def insert_hold(self, q: Queryable, hold: HoldRow) -> None: ...
    async def get_hold(self, q: Queryable, hold_id: str) -> HoldRow | None: ...
    async def list_holds(self, q: Queryable, *, after: str, limit: int) -> list[HoldRow]: ...
    async def release_hold(self, q: Queryable, hold_id: str, by: str, now_ms: int) -> bool: ...
    async def keep_held_originals(self, q: Queryable, now_ms: int) -> int: ...
    async def keep_original_of(
        self, q: Queryable, event_id: str, redacted_by: str, now_ms: int
    ) -> None: ...
    async def held_among(self, q: Queryable, event_ids: Sequence[str]) -> set[str]: ...
    async def drop_unheld_originals(self, q: Queryable) -> int: ...


class RoleStore(Protocol):
    """Roles granted to users (`compliance`)."""

    async def roles_of(self, q: Queryable, user_id: str) -> list[str]: ...
    async def set_roles(
        self, q: Queryable, user_id: str, roles: Sequence[str], by: str, now_ms: int
    ) -> None: ...


class RetentionStore(Protocol):
    """What the retention purge reads and deletes."""

    async def retention_states(self, q: Queryable) -> list[tuple[str, str]]: ...
    async def rooms_after(self, q: Queryable, after: str, limit: int) -> list[str]: ...
    async def count_expired(self, q: Queryable, room_id: str, before_ts: int) -> int: ...
    async def delete_expired(
        self, q: Queryable, room_id: str, before_ts: int, limit: int
    ) -> list[PurgedEvent]: ...
    async def delete_history(
        self, q: Queryable, room_id: str, before_position: int, *, local_suffix: str | None,
        limit: int,
    ) -> list[PurgedEvent]: ...  # fmt: skip
    async def last_position_before(
        self, q: Queryable, room_id: str, before_ts: int
    ) -> int | None: ...
    async def delete_unreferenced_media(
        self, q: Queryable, server_name: str, media_ids: Sequence[str]
    ) -> list[DeletedMedia]: ...
    async def count_prunable_originals(self, q: Queryable, before_ts: int) -> int: ...
    async def prune_originals(self, q: Queryable, before_ts: int, limit: int) -> list[str]: ...
    async def compact_search_index(self, q: Queryable) -> None: ...
    async def cursor(self, q: Queryable, job: str) -> str: ...
    async def set_cursor(self, q: Queryable, job: str, room_id: str, now_ms: int) -> None: ...
