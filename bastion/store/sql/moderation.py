"""SQL for the report queue (`reports`) and the user-redaction jobs (`redaction_jobs`)."""

from __future__ import annotations

from typing import Any

from bastion.store.database import Queryable, Row
from bastion.store.protocols.moderation import (
    NewReport,
    RedactionJob,
    ReportQuery,
    ReportRecord,
)
from bastion.store.sql.like import contains

_REPORT_COLUMNS = (
    "id, kind, received_ts, reporter, room_id, event_id, target_user_id, reason, score,"
    " status, handled_by, handled_ts"
)
_JOB_COLUMNS = (
    "job_id, requested_by, user_id, room_id, reason, status, after_position, upto_position,"
    " redacted, refused, error, created_ts, updated_ts"
)

# A user's messages: what they sent that is not state nor a redaction, and not yet redacted.
_MESSAGES = (
    "sender = ? AND state_key IS NULL AND redacted_by IS NULL AND type <> 'm.room.redaction'"
)


def _report(row: Row) -> ReportRecord:
    return ReportRecord(
        int(row[0]), row[1], int(row[2]), row[3], row[4], row[5], row[6], row[7],
        None if row[8] is None else int(row[8]), row[9], row[10],
        None if row[11] is None else int(row[11]),
    )  # fmt: skip


def _job(row: Row) -> RedactionJob:
    return RedactionJob(
        row[0], row[1], row[2], row[3], row[4], row[5], int(row[6]), int(row[7]), int(row[8]),
        int(row[9]), row[10], int(row[11]), int(row[12]),
    )  # fmt: skip


class SqlReportStore:
    """Reports by id; listing filters by kind, status, room, reporter and reported user."""

    async def insert(self, q: Queryable, report: NewReport) -> int:
        report_id = await q.fetch_val(
            "INSERT INTO reports (kind, received_ts, reporter, room_id, event_id, target_user_id,"
            " reason, score, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open') RETURNING id",
            report.kind, report.received_ts, report.reporter, report.room_id, report.event_id,
            report.target_user_id, report.reason, report.score,
        )  # fmt: skip
        return int(report_id)

    async def get(self, q: Queryable, report_id: int) -> ReportRecord | None:
        row = await q.fetch_one(f"SELECT {_REPORT_COLUMNS} FROM reports WHERE id = ?", report_id)
        return None if row is None else _report(row)

    async def find(self, q: Queryable, query: ReportQuery) -> tuple[list[ReportRecord], int]:
        """A page of matching reports, and how many match in all."""
        clauses: list[str] = []
        args: list[Any] = []
        for column, value in (("kind", query.kind), ("status", query.status),
                              ("target_user_id", query.target_user_id)):  # fmt: skip
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        for column, value in (("room_id", query.room_id), ("reporter", query.reporter)):
            if value is not None:
                clauses.append(f"{column} LIKE ? ESCAPE '\\'")
                args.append(contains(value))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        total = await q.fetch_val(f"SELECT COUNT(*) FROM reports{where}", *args)
        order = "DESC" if query.newest_first else "ASC"
        rows = await q.fetch_all(
            f"SELECT {_REPORT_COLUMNS} FROM reports{where} ORDER BY id {order}"
            " LIMIT ? OFFSET ?",
            *args, query.limit, query.offset,
        )  # fmt: skip
        return [_report(r) for r in rows], int(total)

    async def set_status(
        self, q: Queryable, report_id: int, status: str, handled_by: str, now_ms: int
    ) -> bool:
        changed = await q.execute(
            "UPDATE reports SET status = ?, handled_by = ?, handled_ts = ? WHERE id = ?",
            status, handled_by, now_ms, report_id,
        )  # fmt: skip
        return changed > 0

    async def delete(self, q: Queryable, report_id: int) -> bool:
        return await q.execute("DELETE FROM reports WHERE id = ?", report_id) > 0


class SqlRedactionJobStore:
    """Jobs by id; a job's next messages come from `events_by_sender`."""

    async def insert(self, q: Queryable, job: RedactionJob) -> None:
        await q.execute(
            f"INSERT INTO redaction_jobs ({_JOB_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            job.job_id, job.requested_by, job.user_id, job.room_id, job.reason, job.status,
            job.after_position, job.upto_position, job.redacted, job.refused, job.error,
            job.created_ts, job.updated_ts,
        )  # fmt: skip

    async def get(self, q: Queryable, job_id: str) -> RedactionJob | None:
        row = await q.fetch_one(
            f"SELECT {_JOB_COLUMNS} FROM redaction_jobs WHERE job_id = ?",
            job_id,
        )
        return None if row is None else _job(row)

    async def pending(self, q: Queryable) -> list[RedactionJob]:
        rows = await q.fetch_all(
            f"SELECT {_JOB_COLUMNS} FROM redaction_jobs"
            " WHERE status = 'pending' ORDER BY created_ts, job_id"
        )
        return [_job(r) for r in rows]

    async def update(self, q: Queryable, job: RedactionJob) -> None:
        await q.execute(
            "UPDATE redaction_jobs SET status = ?, after_position = ?, redacted = ?, refused = ?,"
            " error = ?, updated_ts = ? WHERE job_id = ?",
            job.status, job.after_position, job.redacted, job.refused, job.error,
            job.updated_ts, job.job_id,
        )  # fmt: skip

    async def count_messages(
        self, q: Queryable, user_id: str, room_id: str | None
    ) -> tuple[int, int]:
        """(how many, newest position) of the user's unredacted messages, in one room or all."""
        room_clause = " AND room_id = ?" if room_id is not None else ""
        row = await q.fetch_one(
            f"SELECT COUNT(*), COALESCE(MAX(stream_ordering), 0) FROM events WHERE {_MESSAGES}"
            f"{room_clause}",
            user_id, *([room_id] if room_id is not None else []),
        )  # fmt: skip
        return (0, 0) if row is None else (int(row[0]), int(row[1]))

    async def messages_of(
        self, q: Queryable, job: RedactionJob, limit: int
    ) -> list[tuple[int, str, str]]:
        """The job's next (position, event ID, room ID): the user's unredacted messages (not
        state, not redactions) after its progress, up to its bound, oldest first."""
        room_clause = " AND room_id = ?" if job.room_id is not None else ""
        room_args = [job.room_id] if job.room_id is not None else []
        rows = await q.fetch_all(
            f"SELECT stream_ordering, event_id, room_id FROM events WHERE {_MESSAGES}"
            f" AND stream_ordering > ? AND stream_ordering <= ?{room_clause}"
            " ORDER BY stream_ordering LIMIT ?",
            job.user_id, job.after_position, job.upto_position, *room_args, limit,
        )  # fmt: skip
        return [(int(r[0]), r[1], r[2]) for r in rows]
