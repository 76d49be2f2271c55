"""SQL for the report queue (`reports`) and the user-redaction jobs (`redaction_jobs`)."""

from __future__ import annotations

import json
from typing import Any

from bastion.store.database import Queryable, Row
from bastion.store.protocols.moderation import (
    NewReport,
    RedactionJob,
    RedactionScope,
    ReportQuery,
    ReportRecord,
)
from bastion.store.sql import job_lists
from bastion.store.sql.like import contains

_REPORT_COLUMNS = (
    "id, kind, received_ts, reporter, room_id, event_id, target_user_id, reason, score,"
    " status, handled_by, handled_ts"
)
_JOB_COLUMNS = (
    "job_id, requested_by, user_id, room_id, reason, status, after_position, upto_position,"
    " redacted, refused, error, created_ts, updated_ts, rooms, after_ts, before_ts, room_floors,"
    " failed"
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
    rooms = None if row[13] is None else tuple(json.loads(row[13]))
    return RedactionJob(
        row[0], row[1], row[2], row[3], row[4], row[5], int(row[6]), int(row[7]), int(row[8]),
        int(row[9]), row[10], int(row[11]), int(row[12]), rooms, _int_or_none(row[14]),
        _int_or_none(row[15]), None if row[16] is None else json.loads(row[16]),
        {} if row[17] is None else json.loads(row[17]),
    )  # fmt: skip


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _in_scope(scope: RedactionScope) -> tuple[str, list[Any]]:
    """The WHERE clause (and its arguments) of the scope's messages."""
    clause, args = _MESSAGES, list[Any]([scope.user_id])
    if scope.rooms is not None:
        clause += f" AND room_id IN ({', '.join('?' * len(scope.rooms))})"
        args.extend(scope.rooms)
    if scope.after_ts is not None:
        clause += " AND origin_server_ts >= ?"
        args.append(scope.after_ts)
    if scope.before_ts is not None:
        clause += " AND origin_server_ts <= ?"
        args.append(scope.before_ts)
    return clause, args


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
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            job.job_id, job.requested_by, job.user_id, job.room_id, job.reason, job.status,
            job.after_position, job.upto_position, job.redacted, job.refused, job.error,
            job.created_ts, job.updated_ts,
            None if job.rooms is None else json.dumps(list(job.rooms)), job.after_ts,
            job.before_ts, None if job.room_floors is None else json.dumps(job.room_floors),
            json.dumps(job.failed) if job.failed else None,
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

    async def latest(
        self, q: Queryable, user_id: str | None, before_ts: int | None, limit: int
    ) -> list[RedactionJob]:
        rows = await job_lists.latest_jobs(
            q, "redaction_jobs", _JOB_COLUMNS, owner=("user_id", user_id), before_ts=before_ts,
            limit=limit,
        )  # fmt: skip
        return [_job(r) for r in rows]

    async def update(self, q: Queryable, job: RedactionJob) -> None:
        await q.execute(
            "UPDATE redaction_jobs SET status = ?, after_position = ?, redacted = ?, refused = ?,"
            " error = ?, updated_ts = ?, failed = ? WHERE job_id = ?",
            job.status, job.after_position, job.redacted, job.refused, job.error,
            job.updated_ts, json.dumps(job.failed) if job.failed else None, job.job_id,
        )  # fmt: skip

    async def count_by_room(
        self, q: Queryable, scope: RedactionScope
    ) -> dict[str, tuple[int, int]]:
        """Per room with any, (how many, newest position) of the scope's unredacted messages."""
        clause, args = _in_scope(scope)
        rows = await q.fetch_all(
            "SELECT room_id, COUNT(*), MAX(stream_ordering) FROM events"
            f" WHERE {clause} GROUP BY room_id",
            *args,
        )
        return {r[0]: (int(r[1]), int(r[2])) for r in rows}

    async def nth_newest(
        self, q: Queryable, scope: RedactionScope, room_id: str, n: int
    ) -> int | None:
        """The position of the scope's `n`th newest message in `room_id` (None: fewer)."""
        clause, args = _in_scope(scope)
        value = await q.fetch_val(
            f"SELECT stream_ordering FROM events WHERE {clause} AND room_id = ?"
            " ORDER BY stream_ordering DESC LIMIT 1 OFFSET ?",
            *args, room_id, n - 1,
        )  # fmt: skip
        return None if value is None else int(value)

    async def messages_of(
        self, q: Queryable, job: RedactionJob, limit: int
    ) -> list[tuple[int, str, str]]:
        """The job's next (position, event ID, room ID): the user's unredacted messages (not
        state, not redactions) in its scope after its progress, up to its bound, oldest first.
        Its rooms' floors are the caller's to apply."""
        clause, args = _in_scope(job.scope)
        rows = await q.fetch_all(
            f"SELECT stream_ordering, event_id, room_id FROM events WHERE {clause}"
            " AND stream_ordering > ? AND stream_ordering <= ? ORDER BY stream_ordering LIMIT ?",
            *args, job.after_position, job.upto_position, limit,
        )  # fmt: skip
        return [(int(r[0]), r[1], r[2]) for r in rows]
