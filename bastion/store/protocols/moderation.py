"""Moderation stores: the report queue and the user-redaction jobs (see
migrations/0019_create_reports.*.sql for the model).

See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from typing import Protocol

import msgspec

from bastion.store.database import Queryable


class NewReport(msgspec.Struct, frozen=True):
    """A report as a user files it (`kind`: `event`, `room` or `user`)."""

    kind: str
    received_ts: int
    reporter: str
    room_id: str | None = None
    event_id: str | None = None
    target_user_id: str | None = None
    reason: str | None = None
    score: int | None = None


class ReportRecord(msgspec.Struct, frozen=True):
    """One stored report."""

    id: int
    kind: str
    received_ts: int
    reporter: str
    room_id: str | None
    event_id: str | None
    target_user_id: str | None
    reason: str | None
    score: int | None
    status: str
    handled_by: str | None
    handled_ts: int | None


class ReportQuery(msgspec.Struct, frozen=True):
    """Filters for a page of reports; every set field must match.

    `room_id` and `reporter` match as substrings (Synapse's `room_id`/`user_id` filters);
    `target_user_id` matches exactly. `offset` and `limit` page in `newest_first` order.
    """

    kind: str | None = None
    status: str | None = None
    room_id: str | None = None
    reporter: str | None = None
    target_user_id: str | None = None
    newest_first: bool = True
    offset: int = 0
    limit: int = 100


class RedactionScope(msgspec.Struct, frozen=True):
    """Which of a user's messages a redaction covers: those in `rooms` (None: every room) sent
    at or after `after_ts` and at or before `before_ts` (ms; None: unbounded)."""

    user_id: str
    rooms: tuple[str, ...] | None = None
    after_ts: int | None = None
    before_ts: int | None = None


class RedactionJob(msgspec.Struct, frozen=True):
    """A "remove all of this user's messages" job and its progress.

    `room_id` is the one room of a job asked for in one room (kept for display); `rooms`, the
    rooms of a job asked for in several. `room_floors` maps a room to the lowest position the
    job covers there (a per-room limit: only the newest messages). `failed` maps the messages
    that could not be redacted to why (at most `FAILED_KEPT` of them; `refused` counts all).
    """

    job_id: str
    requested_by: str
    user_id: str
    room_id: str | None
    reason: str | None
    status: str
    after_position: int
    upto_position: int
    redacted: int
    refused: int
    error: str | None
    created_ts: int
    updated_ts: int
    rooms: tuple[str, ...] | None = None
    after_ts: int | None = None
    before_ts: int | None = None
    room_floors: dict[str, int] | None = None
    failed: dict[str, str] = msgspec.field(default_factory=dict)

    @property
    def scope(self) -> RedactionScope:
        """The messages this job covers (before its per-room floors)."""
        rooms = self.rooms
        if rooms is None and self.room_id is not None:
            rooms = (self.room_id,)
        return RedactionScope(self.user_id, rooms, self.after_ts, self.before_ts)


FAILED_KEPT = 1000


class ReportStore(Protocol):
    """The report queue."""

    async def insert(self, q: Queryable, report: NewReport) -> int: ...
    async def get(self, q: Queryable, report_id: int) -> ReportRecord | None: ...
    async def find(self, q: Queryable, query: ReportQuery) -> tuple[list[ReportRecord], int]: ...
    async def set_status(
        self, q: Queryable, report_id: int, status: str, handled_by: str, now_ms: int
    ) -> bool: ...
    async def delete(self, q: Queryable, report_id: int) -> bool: ...


class RedactionJobStore(Protocol):
    """User-redaction jobs, and the messages they work through."""

    async def insert(self, q: Queryable, job: RedactionJob) -> None: ...
    async def get(self, q: Queryable, job_id: str) -> RedactionJob | None: ...
    async def pending(self, q: Queryable) -> list[RedactionJob]: ...
    async def update(self, q: Queryable, job: RedactionJob) -> None: ...
    async def latest(
        self, q: Queryable, user_id: str | None, before_ts: int | None, limit: int
    ) -> list[RedactionJob]:
        """At most `limit` jobs (of one user, or all), the latest changed first, changed at or
        before `before_ts` when given (the admin's job list)."""
        ...

    async def messages_of(
        self, q: Queryable, job: RedactionJob, limit: int
    ) -> list[tuple[int, str, str]]: ...
    async def count_by_room(
        self, q: Queryable, scope: RedactionScope
    ) -> dict[str, tuple[int, int]]: ...
    async def nth_newest(
        self, q: Queryable, scope: RedactionScope, room_id: str, n: int
    ) -> int | None: ...
