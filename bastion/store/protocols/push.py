"""Push rule and notification stores (see migrations/0009_create_push.sql for the model).

See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from bastion.store.database import Queryable


class Counts(msgspec.Struct, frozen=True):
    """Running totals of notifications and highlights."""

    notify: int = 0
    highlight: int = 0


class PushOutcomeRecord(msgspec.Struct, frozen=True):
    """What push rules gave one event: for its generic members (`user_id` None) or for one user
    whose outcome differs (`generic_*` then say what the generic members got)."""

    room_id: str
    thread_id: str
    stream_ordering: int
    event_id: str
    actions: str
    notify: bool
    highlight: bool
    ts: int
    user_id: str | None = None
    generic_notify: bool = False
    generic_highlight: bool = False


class UnreadCount(msgspec.Struct, frozen=True):
    """Unread notifications of one user in one thread of one room."""

    room_id: str
    thread_id: str
    notifications: int
    highlights: int


class NotificationQuery(msgspec.Struct, frozen=True):
    """A page of a user's notifications, newest first, below `before`."""

    user_id: str
    before: int | None
    limit: int
    only_highlight: bool


class PushRuleStore(Protocol):
    """Each user's push rule document, changed with a compare-and-set on its version."""

    async def get_rules(self, q: Queryable, user_id: str) -> tuple[str, int] | None: ...
    async def get_rules_of(self, q: Queryable, user_ids: Sequence[str]) -> dict[str, str]: ...
    async def put_rules(
        self, q: Queryable, user_id: str, rules: str, *, expected_version: int | None
    ) -> bool: ...


class PushActionStore(Protocol):
    """Generic outcomes with running totals, per-user differences, and read marks."""

    async def insert_generic(
        self, q: Queryable, outcome: PushOutcomeRecord, sender: str
    ) -> Counts: ...
    async def insert_generic_marking_read(
        self, q: Queryable, outcome: PushOutcomeRecord, sender: str
    ) -> None: ...
    async def insert_generics_marking_read(
        self, q: Queryable, items: Sequence[tuple[PushOutcomeRecord, str]]
    ) -> None: ...
    async def insert_differences(
        self, q: Queryable, outcomes: Sequence[PushOutcomeRecord]
    ) -> None: ...
    async def mark_read(
        self, q: Queryable, user_id: str, room_id: str, thread_id: str, *, upto: int,
        totals: Counts | None = None,
    ) -> None: ...  # fmt: skip
    async def mark_all_threads_read(
        self, q: Queryable, user_id: str, room_id: str, *, upto: int
    ) -> None: ...
    async def unread_counts(
        self, q: Queryable, user_id: str, room_ids: Sequence[str]
    ) -> list[UnreadCount]: ...
    async def notifications(
        self, q: Queryable, query: NotificationQuery
    ) -> list[PushOutcomeRecord]: ...
    async def withdraw(self, q: Queryable, event_id: str) -> None: ...
    async def read_marks(
        self, q: Queryable, user_id: str, room_ids: Sequence[str]
    ) -> dict[tuple[str, str], int]: ...
