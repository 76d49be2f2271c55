"""Storage interface of the history purges an admin asked for (migrations/0040).

See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from typing import Protocol

import msgspec

from bastion.store.database import Queryable


class HistoryPurgeRow(msgspec.Struct, frozen=True, kw_only=True):
    """One purge of a room's history below a stream position."""

    purge_id: str
    room_id: str
    requested_by: str
    before_position: int
    delete_local: bool
    status: str
    deleted: int
    error: str | None
    created_ts: int
    updated_ts: int


class HistoryPurgeStore(Protocol):
    """The purge rows: written when asked for, advanced with each batch."""

    async def insert_purge(self, q: Queryable, purge: HistoryPurgeRow) -> None: ...
    async def get_purge(self, q: Queryable, purge_id: str) -> HistoryPurgeRow | None: ...
    async def unfinished_purges(self, q: Queryable) -> list[HistoryPurgeRow]: ...
    async def purges_of_room(
        self, q: Queryable, room_id: str, limit: int
    ) -> list[HistoryPurgeRow]: ...
    async def latest_purges(
        self, q: Queryable, room_id: str | None, before_ts: int | None, limit: int
    ) -> list[HistoryPurgeRow]:
        """At most `limit` purges (of one room, or all), the latest changed first, changed at
        or before `before_ts` when given (the admin's job list)."""
        ...

    async def update_purge(
        self, q: Queryable, purge_id: str, *, status: str, deleted: int, error: str | None,
        now_ms: int,
    ) -> None: ...  # fmt: skip
