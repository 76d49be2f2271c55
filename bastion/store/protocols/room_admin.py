"""Admin-side room stores: the room inventory's per-room facts, deletion jobs and blocked rooms
(see migrations/0018_create_room_deletions.sql for the model).

See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from bastion.events.model import StoredEvent
from bastion.store.database import Queryable


class RoomFactsRow(msgspec.Struct, frozen=True):
    """What the rooms table and counts say about one room (state comes separately)."""

    room_id: str
    room_version: str
    creator: str
    created_ts: int
    last_activity_ts: int | None
    published: bool
    joined_members: int
    joined_local_members: int
    state_events: int


class DeletionJobRow(msgspec.Struct, frozen=True):
    """One room deletion job; `options` and `result` are JSON text."""

    delete_id: str
    room_id: str
    status: str
    requested_by: str
    options: str
    result: str
    error: str | None
    created_ts: int
    updated_ts: int


class RoomSizeStore(Protocol):
    """How much of the database rooms take (store/sql/room_sizes.py)."""

    async def largest_rooms(self, q: Queryable, limit: int) -> list[tuple[str, int]]: ...


class RoomInventoryStore(Protocol):
    """Per-room facts for the admin room lists, in few queries."""

    async def room_facts(
        self, q: Queryable, *, local_suffix: str, room_id: str | None = None
    ) -> list[RoomFactsRow]: ...
    async def current_state_of_rooms(
        self, q: Queryable, room_ids: Sequence[str], types: Sequence[str]
    ) -> list[StoredEvent]: ...
    async def joined_members(
        self, q: Queryable, room_ids: Sequence[str]
    ) -> dict[str, frozenset[str]]: ...
    async def local_activity(
        self, q: Queryable, room_id: str, *, local_suffix: str
    ) -> tuple[int, bool]: ...
    async def forward_extremity(
        self, q: Queryable, room_id: str
    ) -> tuple[str, int, int | None] | None: ...


class RoomDeletionStore(Protocol):
    """Deletion jobs, blocked rooms, and the purge of a room's rows."""

    async def insert_job(self, q: Queryable, job: DeletionJobRow) -> None: ...
    async def get_job(self, q: Queryable, delete_id: str) -> DeletionJobRow | None: ...
    async def jobs_of_room(self, q: Queryable, room_id: str) -> list[DeletionJobRow]: ...
    async def unfinished_jobs(self, q: Queryable) -> list[DeletionJobRow]: ...
    async def latest_jobs(
        self, q: Queryable, room_id: str | None, before_ts: int | None, limit: int
    ) -> list[DeletionJobRow]:
        """At most `limit` jobs (of one room, or all), the latest changed first, changed at or
        before `before_ts` when given (the admin's job list)."""
        ...

    async def update_job(
        self, q: Queryable, delete_id: str, *, status: str, result: str, error: str | None,
        now_ms: int,
    ) -> None: ...  # fmt: skip
    async def block(self, q: Queryable, room_id: str, blocked_by: str, now_ms: int) -> None: ...
    async def unblock(self, q: Queryable, room_id: str) -> int: ...
    async def blocked_by(self, q: Queryable, room_id: str) -> str | None: ...
    async def is_blocked(self, q: Queryable, room_id: str) -> bool: ...
    async def purge_events(self, q: Queryable, room_id: str, limit: int) -> int: ...
    async def count_events(self, q: Queryable, room_id: str) -> int: ...
    async def purge_room_rows(self, q: Queryable, room_id: str) -> None: ...
