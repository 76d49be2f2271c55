"""SQL for compliance export jobs and the reads behind them (store/protocols/exports.py).

`export_events` is keyset-paged on `stream_ordering` (the primary key) with a LIMIT, so each
call reads one bounded batch; with rooms selected it walks `events_by_room`. The original of a
redacted event comes from the legal-hold store (`held_event_originals`) when a hold kept it,
else from `redacted_event_originals` (until retention prunes it).
"""

from __future__ import annotations

import json
from typing import Any

from bastion.store.database import Queryable, Row
from bastion.store.protocols.exports import (
    EventFilter,
    ExportedEvent,
    ExportJobRow,
    MediaFacts,
    RoomFacts,
    SubjectDevice,
    SubjectRoom,
)
from bastion.store.sql.events import placeholders
from bastion.store.sql.profiles import SqlProfileStore

_JOB_COLUMNS = (
    "export_id, kind, status, requested_by, options, done_events, total_events, files, error,"
    " created_ts, updated_ts"
)
_EVENT_COLUMNS = (
    "e.stream_ordering, e.event_id, e.room_id, e.sender, e.origin_server_ts, e.pdu,"
    " e.redacted_by, x.sender AS redaction_sender, x.origin_server_ts AS redaction_ts,"
    " h.pdu AS held_pdu, r.pdu AS original_pdu"
)
_EVENT_JOINS = (
    " LEFT JOIN held_event_originals h ON h.event_id = e.event_id"
    " LEFT JOIN redacted_event_originals r ON r.event_id = e.event_id"
    " LEFT JOIN events x ON x.event_id = e.redacted_by"
)


def _where(selection: EventFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if selection.rooms:
        clauses.append(f"e.room_id IN ({placeholders(len(selection.rooms))})")
        args.extend(selection.rooms)
    if selection.senders:
        clauses.append(f"e.sender IN ({placeholders(len(selection.senders))})")
        args.extend(selection.senders)
    if selection.from_ts is not None:
        clauses.append("e.origin_server_ts >= ?")
        args.append(selection.from_ts)
    if selection.to_ts is not None:
        clauses.append("e.origin_server_ts < ?")
        args.append(selection.to_ts)
    return "".join(f" AND {clause}" for clause in clauses), args


def _job(row: Row) -> ExportJobRow:
    return ExportJobRow(
        export_id=row["export_id"], kind=row["kind"], status=row["status"],
        requested_by=row["requested_by"], options=row["options"],
        done_events=row["done_events"], total_events=row["total_events"], files=row["files"],
        error=row["error"], created_ts=row["created_ts"], updated_ts=row["updated_ts"],
    )  # fmt: skip


def _event(row: Row) -> ExportedEvent:
    held = row["held_pdu"]
    return ExportedEvent(
        stream_ordering=row["stream_ordering"], event_id=row["event_id"],
        room_id=row["room_id"], sender=row["sender"],
        origin_server_ts=row["origin_server_ts"], pdu=row["pdu"],
        redacted_by=row["redacted_by"], redaction_sender=row["redaction_sender"],
        redaction_ts=row["redaction_ts"],
        original_pdu=held if held is not None else row["original_pdu"],
        original_held=held is not None,
    )  # fmt: skip


class SqlExportStore:
    """Export jobs in `export_jobs`; reads over events, state, media, accounts."""

    async def insert_job(self, q: Queryable, job: ExportJobRow) -> None:
        await q.execute(
            f"INSERT INTO export_jobs ({_JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            job.export_id, job.kind, job.status, job.requested_by, job.options,
            job.done_events, job.total_events, job.files, job.error, job.created_ts,
            job.updated_ts,
        )  # fmt: skip

    async def get_job(self, q: Queryable, export_id: str) -> ExportJobRow | None:
        row = await q.fetch_one(
            f"SELECT {_JOB_COLUMNS} FROM export_jobs WHERE export_id = ?", export_id
        )
        return None if row is None else _job(row)

    async def running_jobs(self, q: Queryable) -> list[ExportJobRow]:
        rows = await q.fetch_all(
            f"SELECT {_JOB_COLUMNS} FROM export_jobs WHERE status = 'running'"
            " ORDER BY created_ts, export_id"
        )
        return [_job(row) for row in rows]

    async def set_progress(
        self, q: Queryable, export_id: str, done: int, total: int, now_ms: int
    ) -> None:
        await q.execute(
            "UPDATE export_jobs SET done_events = ?, total_events = ?, updated_ts = ?"
            " WHERE export_id = ?",
            done, total, now_ms, export_id,
        )  # fmt: skip

    async def finish_job(
        self, q: Queryable, export_id: str, *, status: str, files: str, error: str | None,
        now_ms: int,
    ) -> None:  # fmt: skip
        await q.execute(
            "UPDATE export_jobs SET status = ?, files = ?, error = ?, updated_ts = ?"
            " WHERE export_id = ?",
            status, files, error, now_ms, export_id,
        )  # fmt: skip

    async def count_export_events(self, q: Queryable, selection: EventFilter) -> int:
        where, args = _where(selection)
        count = await q.fetch_val(f"SELECT COUNT(*) FROM events e WHERE 1 = 1{where}", *args)
        return int(count or 0)

    async def export_events(
        self, q: Queryable, selection: EventFilter, *, after: int, limit: int
    ) -> list[ExportedEvent]:
        where, args = _where(selection)
        rows = await q.fetch_all(
            f"SELECT {_EVENT_COLUMNS} FROM events e{_EVENT_JOINS}"
            f" WHERE e.stream_ordering > ?{where} ORDER BY e.stream_ordering LIMIT ?",
            after, *args, limit,
        )  # fmt: skip
        return [_event(row) for row in rows]

    async def room_facts(self, q: Queryable, room_id: str) -> RoomFacts:
        version = await q.fetch_val("SELECT room_version FROM rooms WHERE room_id = ?", room_id)
        rows = await q.fetch_all(
            "SELECT c.type, e.pdu FROM current_state c JOIN events e ON e.event_id = c.event_id"
            " WHERE c.room_id = ? AND c.state_key = ''"
            " AND c.type IN ('m.room.name', 'm.room.encryption')",
            room_id,
        )
        name: str | None = None
        encrypted = False
        for row in rows:
            if row["type"] == "m.room.encryption":
                encrypted = True
            else:
                value = json.loads(row["pdu"]).get("content", {}).get("name")
                name = value if isinstance(value, str) and value else None
        return RoomFacts(room_id=room_id, room_version=version, name=name, encrypted=encrypted)

    async def media_facts(self, q: Queryable, media_id: str) -> MediaFacts | None:
        row = await q.fetch_one(
            "SELECT media_id, sha256, size, content_type, upload_name FROM media"
            " WHERE media_id = ? AND uploaded_ts IS NOT NULL",
            media_id,
        )
        if row is None:
            return None
        return MediaFacts(
            media_id=row["media_id"], sha256=row["sha256"], size=row["size"],
            content_type=row["content_type"], upload_name=row["upload_name"],
        )  # fmt: skip

    async def subject_profile(
        self, q: Queryable, user_id: str
    ) -> tuple[str | None, str | None] | None:
        row = await q.fetch_one(
            "SELECT p.displayname, p.avatar_url FROM users u"
            " LEFT JOIN profiles p ON p.user_id = u.user_id WHERE u.user_id = ?",
            user_id,
        )
        return None if row is None else (row["displayname"], row["avatar_url"])

    async def subject_profile_fields(self, q: Queryable, user_id: str) -> dict[str, Any]:
        return await SqlProfileStore().get_fields(q, user_id)

    async def subject_devices(self, q: Queryable, user_id: str) -> list[SubjectDevice]:
        rows = await q.fetch_all(
            "SELECT device_id, display_name, created_ts, last_seen_ts, last_seen_ip FROM devices"
            " WHERE user_id = ? ORDER BY device_id",
            user_id,
        )
        return [
            SubjectDevice(
                device_id=row["device_id"],
                display_name=row["display_name"],
                created_ts=row["created_ts"],
                last_seen_ts=row["last_seen_ts"],
                last_seen_ip=row["last_seen_ip"],
            )
            for row in rows
        ]

    async def subject_rooms(self, q: Queryable, user_id: str) -> list[SubjectRoom]:
        rows = await q.fetch_all(
            "SELECT room_id, membership FROM memberships WHERE user_id = ? ORDER BY room_id",
            user_id,
        )
        return [SubjectRoom(room_id=row["room_id"], membership=row["membership"]) for row in rows]
