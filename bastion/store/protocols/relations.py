"""Event relation and thread stores.

See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from bastion.events.model import StoredEvent
from bastion.store.database import Queryable


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
