"""The offboarding jobs' storage interface and rows (services/offboarding/)."""

from __future__ import annotations

from typing import Protocol

import msgspec

from bastion.store.database import Queryable


class OffboardingJobRow(msgspec.Struct, frozen=True, kw_only=True):
    """One offboarding job: the next step to run and the report (JSON) so far."""

    job_id: str
    user_id: str
    actor_kind: str
    actor_id: str
    erase: bool
    step: str
    report: str
    erase_after: int
    created_ts: int
    updated_ts: int
    finished_ts: int | None


class ErasableEvent(msgspec.Struct, frozen=True):
    """An event a user sent that erasure may redact in storage."""

    event_id: str
    room_id: str
    stream_ordering: int
    origin_server_ts: int
    pdu: str


class OffboardingJobStore(Protocol):
    """Jobs by ID and by user; erasure's reads and writes of a user's events."""

    async def insert_job(self, q: Queryable, job: OffboardingJobRow) -> None: ...
    async def get_job(self, q: Queryable, job_id: str) -> OffboardingJobRow | None: ...
    async def unfinished_job_of(self, q: Queryable, user_id: str) -> OffboardingJobRow | None: ...
    async def unfinished_jobs(self, q: Queryable) -> list[OffboardingJobRow]: ...
    async def save_progress(
        self, q: Queryable, job_id: str, *, step: str, report: str, erase_after: int, now_ms: int
    ) -> None: ...
    async def finish_job(self, q: Queryable, job_id: str, report: str, now_ms: int) -> None: ...
    async def events_sent_by(
        self, q: Queryable, user_id: str, *, after: int, limit: int
    ) -> list[ErasableEvent]: ...
    async def erase_event(self, q: Queryable, event_id: str, pruned_pdu: str, marker: str) -> None:
        """Store the pruned PDU in place of the original (kept nowhere), marked redacted."""
        ...
