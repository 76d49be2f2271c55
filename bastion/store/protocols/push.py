"""Push rule and notification stores.

See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from bastion.store.database import Queryable


class PushActionRecord(msgspec.Struct, frozen=True):
    """What push rules decided for one user about one event; `thread_id` is 'main' for the
    main timeline, else the thread root."""

    user_id: str
    stream_ordering: int
    room_id: str
    event_id: str
    thread_id: str
    actions: str
    notify: bool
    highlight: bool
    ts: int
    is_read: bool = False


class UnreadCount(msgspec.Struct, frozen=True):
    """Unread notifications of one user in one thread of one room."""

    room_id: str
    thread_id: str
    notifications: int
    highlights: int


class PushRuleStore(Protocol):
    """Each user's push rule document, changed with a compare-and-set on its version."""

    async def get_rules(self, q: Queryable, user_id: str) -> tuple[str, int] | None: ...
    async def get_rules_of(self, q: Queryable, user_ids: Sequence[str]) -> dict[str, str]: ...
    async def put_rules(
        self, q: Queryable, user_id: str, rules: str, *, expected_version: int | None
    ) -> bool: ...


class PushActionStore(Protocol):
    """Notifications, unread until a receipt (or the user's own event) passes them."""

    async def insert_actions(self, q: Queryable, actions: Sequence[PushActionRecord]) -> None: ...
    async def delete_for_event(self, q: Queryable, event_id: str) -> None: ...
    async def mark_read(
        self, q: Queryable, user_id: str, room_id: str, *, upto: int, thread_id: str | None
    ) -> None: ...
    async def unread_counts(
        self, q: Queryable, user_id: str, room_ids: Sequence[str]
    ) -> list[UnreadCount]: ...
    async def notifications(
        self, q: Queryable, user_id: str, *, before: int | None, limit: int, only_highlight: bool
    ) -> list[PushActionRecord]: ...
