"""Search index stores.

See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from bastion.events.model import StoredEvent
from bastion.store.database import Queryable


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
