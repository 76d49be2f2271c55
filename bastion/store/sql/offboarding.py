"""SQL for offboarding jobs (`offboarding_jobs`) and erasure of a user's events in storage."""

from __future__ import annotations

from bastion.events.types import EventType
from bastion.store.database import Queryable, Row
from bastion.store.protocols.offboarding import ErasableEvent, OffboardingJobRow
from bastion.store.sql.holds import not_held

_JOB_COLUMNS = (
    "job_id, user_id, actor_kind, actor_id, erase, step, report, erase_after, created_ts,"
    " updated_ts, finished_ts"
)


def _job(row: Row) -> OffboardingJobRow:
    return OffboardingJobRow(
        job_id=row[0], user_id=row[1], actor_kind=row[2], actor_id=row[3], erase=bool(row[4]),
        step=row[5], report=row[6], erase_after=int(row[7]), created_ts=int(row[8]),
        updated_ts=int(row[9]), finished_ts=int(row[10]) if row[10] is not None else None,
    )  # fmt: skip


class SqlOffboardingJobStore:
    """Jobs keyed by ID; at most one unfinished per user (a unique partial index)."""

    async def insert_job(self, q: Queryable, job: OffboardingJobRow) -> None:
        await q.execute(
            f"INSERT INTO offboarding_jobs ({_JOB_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            job.job_id, job.user_id, job.actor_kind, job.actor_id, int(job.erase), job.step,
            job.report, job.erase_after, job.created_ts, job.updated_ts, job.finished_ts,
        )  # fmt: skip

    async def get_job(self, q: Queryable, job_id: str) -> OffboardingJobRow | None:
        row = await q.fetch_one(
            f"SELECT {_JOB_COLUMNS} FROM offboarding_jobs WHERE job_id = ?", job_id
        )
        return _job(row) if row is not None else None

    async def unfinished_job_of(self, q: Queryable, user_id: str) -> OffboardingJobRow | None:
        row = await q.fetch_one(
            f"SELECT {_JOB_COLUMNS} FROM offboarding_jobs"
            " WHERE user_id = ? AND finished_ts IS NULL",
            user_id,
        )
        return _job(row) if row is not None else None

    async def unfinished_jobs(self, q: Queryable) -> list[OffboardingJobRow]:
        rows = await q.fetch_all(
            f"SELECT {_JOB_COLUMNS} FROM offboarding_jobs WHERE finished_ts IS NULL"
            " ORDER BY created_ts, job_id"
        )
        return [_job(row) for row in rows]

    async def save_progress(
        self, q: Queryable, job_id: str, *, step: str, report: str, erase_after: int, now_ms: int
    ) -> None:
        await q.execute(
            "UPDATE offboarding_jobs SET step = ?, report = ?, erase_after = ?, updated_ts = ?"
            " WHERE job_id = ?",
            step, report, erase_after, now_ms, job_id,
        )  # fmt: skip

    async def finish_job(self, q: Queryable, job_id: str, report: str, now_ms: int) -> None:
        await q.execute(
            "UPDATE offboarding_jobs SET step = 'done', report = ?, updated_ts = ?,"
            " finished_ts = ? WHERE job_id = ?",
            report, now_ms, now_ms, job_id,
        )  # fmt: skip

    async def events_sent_by(
        self, q: Queryable, user_id: str, *, after: int, limit: int
    ) -> list[ErasableEvent]:
        """Message events (not state, not redactions) `user_id` sent, not yet redacted."""
        rows = await q.fetch_all(
            "SELECT event_id, room_id, stream_ordering, origin_server_ts, pdu FROM events"
            " WHERE sender = ? AND stream_ordering > ? AND state_key IS NULL"
            " AND redacted_by IS NULL AND type <> ? ORDER BY stream_ordering LIMIT ?",
            user_id, after, str(EventType.REDACTION), limit,
        )  # fmt: skip
        return [ErasableEvent(r[0], r[1], int(r[2]), int(r[3]), r[4]) for r in rows]

    async def erase_event(self, q: Queryable, event_id: str, pruned_pdu: str, marker: str) -> None:
        await q.execute(
            "UPDATE events SET pdu = ?, redacted_by = ? WHERE event_id = ? AND redacted_by IS NULL"
            # Legal holds win in the SQL itself (store/sql/holds.py), not only in the check.
            f" AND {not_held('events.room_id', 'events.sender')}",
            pruned_pdu,
            marker,
            event_id,
        )
