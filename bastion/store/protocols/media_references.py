"""The media reference index: which events name which of this server's files (migration 0042).

See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bastion.store.database import Queryable


class MediaReferenceStore(Protocol):
    """Rows (media ID, event ID), and the backfill of events older than the index."""

    async def add(self, q: Queryable, references: Sequence[tuple[str, str]]) -> None: ...
    async def backfill_position(self, q: Queryable) -> int: ...
    async def set_backfill_position(self, q: Queryable, upto: int) -> None: ...
    async def contents_between(
        self, q: Queryable, low: int, high: int
    ) -> list[tuple[str, str]]: ...
    async def orphan_original_contents(self, q: Queryable) -> list[tuple[str, str]]: ...
