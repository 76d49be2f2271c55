"""SQL for the admin room lists (`rooms` with counts), deletion jobs (`room_deletions`),
blocked rooms (`blocked_rooms`) and the purge of a room.

The purge deletes a room's events in batches (`purge_events`, oldest first, never an event a
legal hold covers), then every other row keyed by the room in one go (`purge_room_rows`, the
`rooms` row last, so an interrupted purge is found again by its room); the service calls the
latter only once no event of the room is left. Tables that are evidence rather than room data
(the audit log, reports, deletion jobs, blocked rooms, holds) are never touched here.
"""

from __future__ import annotations

from collections.abc import Sequence

from bastion.events.model import StoredEvent
from bastion.store.database import Queryable, Row
from bastion.store.protocols.room_admin import DeletionJobRow, RoomFactsRow
from bastion.store.sql import job_lists
from bastion.store.sql.events import placeholders
from bastion.store.sql.holds import not_held
from bastion.store.sql.like import escape_like
from bastion.store.sql.room_directory import SqlRoomDirectoryStore

_ROOMS_PER_QUERY = 500

_JOB_COLUMNS = (
    "delete_id, room_id, status, requested_by, options, result, error, created_ts, updated_ts"
)

# Rows keyed by room besides events: derived data first, the room's own row last.
_ROOM_TABLES = (
    "event_relations", "threads", "event_search", "event_push_generic", "push_thread_counters",
    "event_push_user", "push_read_marks", "receipts", "redacted_event_originals",
    "current_state", "memberships", "room_aliases", "room_directory", "account_data", "rooms",
)  # fmt: skip


class SqlRoomInventoryStore:
    """Per-room facts for the admin room lists."""

    def __init__(self) -> None:
        self._directory = SqlRoomDirectoryStore()

    async def room_facts(
        self, q: Queryable, *, local_suffix: str, room_id: str | None = None
    ) -> list[RoomFactsRow]:
        """Every room (or one), with its member and state counts and last event's time."""
        rows = await q.fetch_all(
            "SELECT r.room_id, r.room_version, r.creator, r.created_ts,"
            " (SELECT e.origin_server_ts FROM events e WHERE e.event_id = r.last_event_id),"
            " (SELECT COUNT(*) FROM room_directory d WHERE d.room_id = r.room_id),"
            " (SELECT COUNT(*) FROM memberships m WHERE m.room_id = r.room_id"
            "  AND m.membership = 'join'),"
            " (SELECT COUNT(*) FROM memberships m WHERE m.room_id = r.room_id"
            "  AND m.membership = 'join' AND m.user_id LIKE ? ESCAPE '\\'),"
            " (SELECT COUNT(*) FROM current_state cs WHERE cs.room_id = r.room_id)"
            " FROM rooms r WHERE (? = 0 OR r.room_id = ?) ORDER BY r.room_id",
            "%" + escape_like(local_suffix),
            int(room_id is not None),
            room_id or "",
        )
        return [_facts(row) for row in rows]

    async def current_state_of_rooms(
        self, q: Queryable, room_ids: Sequence[str], types: Sequence[str]
    ) -> list[StoredEvent]:
        return await self._directory.current_state_of_rooms(q, room_ids, types)

    async def forward_extremity(
        self, q: Queryable, room_id: str
    ) -> tuple[str, int, int | None] | None:
        """(event ID, depth, time) of the event the room's next one follows; None: no room."""
        row = await q.fetch_one(
            "SELECT r.last_event_id, r.depth, e.origin_server_ts FROM rooms r"
            " LEFT JOIN events e ON e.event_id = r.last_event_id WHERE r.room_id = ?",
            room_id,
        )
        if row is None:
            return None
        return row[0], int(row[1]), None if row[2] is None else int(row[2])

    async def joined_members(
        self, q: Queryable, room_ids: Sequence[str]
    ) -> dict[str, frozenset[str]]:
        """room_id -> its joined members, for rooms in `room_ids` (one query per 500)."""
        found: dict[str, set[str]] = {}
        for start in range(0, len(room_ids), _ROOMS_PER_QUERY):
            batch = room_ids[start : start + _ROOMS_PER_QUERY]
            rows = await q.fetch_all(
                "SELECT room_id, user_id FROM memberships WHERE membership = 'join'"
                f" AND room_id IN ({placeholders(len(batch))})",
                *batch,
            )
            for row in rows:
                found.setdefault(row[0], set()).add(row[1])
        return {room_id: frozenset(users) for room_id, users in found.items()}

    async def local_activity(
        self, q: Queryable, room_id: str, *, local_suffix: str
    ) -> tuple[int, bool]:
        """(devices of the room's joined local members, whether every local member forgot it)."""
        pattern = "%" + escape_like(local_suffix)
        devices = await q.fetch_one(
            "SELECT COUNT(*) FROM memberships m JOIN devices d ON d.user_id = m.user_id"
            " WHERE m.room_id = ? AND m.membership = 'join' AND m.user_id LIKE ? ESCAPE '\\'",
            room_id,
            pattern,
        )
        remembered = await q.fetch_one(
            "SELECT COUNT(*) FROM memberships WHERE room_id = ? AND forgotten = 0"
            " AND user_id LIKE ? ESCAPE '\\'",
            room_id,
            pattern,
        )
        return (int(devices[0]) if devices else 0), not (remembered and int(remembered[0]))


class SqlRoomDeletionStore:
    """Deletion jobs, blocked rooms and purges."""

    async def insert_job(self, q: Queryable, job: DeletionJobRow) -> None:
        await q.execute(
            f"INSERT INTO room_deletions ({_JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            job.delete_id, job.room_id, job.status, job.requested_by, job.options, job.result,
            job.error, job.created_ts, job.updated_ts,
        )  # fmt: skip

    async def get_job(self, q: Queryable, delete_id: str) -> DeletionJobRow | None:
        row = await q.fetch_one(
            f"SELECT {_JOB_COLUMNS} FROM room_deletions WHERE delete_id = ?", delete_id
        )
        return _job(row) if row is not None else None

    async def jobs_of_room(self, q: Queryable, room_id: str) -> list[DeletionJobRow]:
        rows = await q.fetch_all(
            f"SELECT {_JOB_COLUMNS} FROM room_deletions WHERE room_id = ?"
            " ORDER BY created_ts, delete_id",
            room_id,
        )
        return [_job(row) for row in rows]

    async def latest_jobs(
        self, q: Queryable, room_id: str | None, before_ts: int | None, limit: int
    ) -> list[DeletionJobRow]:
        rows = await job_lists.latest_jobs(
            q, "room_deletions", _JOB_COLUMNS, owner=("room_id", room_id), before_ts=before_ts,
            limit=limit,
        )  # fmt: skip
        return [_job(row) for row in rows]

    async def unfinished_jobs(self, q: Queryable) -> list[DeletionJobRow]:
        rows = await q.fetch_all(
            f"SELECT {_JOB_COLUMNS} FROM room_deletions WHERE status IN ('scheduled', 'active')"
            " ORDER BY created_ts, delete_id"
        )
        return [_job(row) for row in rows]

    async def update_job(
        self, q: Queryable, delete_id: str, *, status: str, result: str, error: str | None,
        now_ms: int,
    ) -> None:  # fmt: skip
        await q.execute(
            "UPDATE room_deletions SET status = ?, result = ?, error = ?, updated_ts = ?"
            " WHERE delete_id = ?",
            status, result, error, now_ms, delete_id,
        )  # fmt: skip

    async def block(self, q: Queryable, room_id: str, blocked_by: str, now_ms: int) -> None:
        await q.execute(
            "INSERT INTO blocked_rooms (room_id, blocked_by, blocked_ts) VALUES (?, ?, ?)"
            " ON CONFLICT (room_id) DO NOTHING",
            room_id,
            blocked_by,
            now_ms,
        )

    async def unblock(self, q: Queryable, room_id: str) -> int:
        return await q.execute("DELETE FROM blocked_rooms WHERE room_id = ?", room_id)

    async def blocked_by(self, q: Queryable, room_id: str) -> str | None:
        value = await q.fetch_val("SELECT blocked_by FROM blocked_rooms WHERE room_id = ?", room_id)
        return None if value is None else str(value)

    async def is_blocked(self, q: Queryable, room_id: str) -> bool:
        row = await q.fetch_one("SELECT 1 FROM blocked_rooms WHERE room_id = ?", room_id)
        return row is not None

    async def purge_events(self, q: Queryable, room_id: str, limit: int) -> int:
        """Delete up to `limit` of the room's oldest events that no legal hold covers; returns
        how many went (the hold clause is in the query itself: store/sql/holds.py)."""
        return await q.execute(
            "DELETE FROM events WHERE stream_ordering IN (SELECT e.stream_ordering FROM events e"
            f" WHERE e.room_id = ? AND {not_held('e.room_id', 'e.sender')}"
            " ORDER BY e.stream_ordering LIMIT ?)",
            room_id,
            limit,
        )

    async def count_events(self, q: Queryable, room_id: str) -> int:
        row = await q.fetch_one("SELECT COUNT(*) FROM events WHERE room_id = ?", room_id)
        return int(row[0]) if row is not None else 0

    async def purge_room_rows(self, q: Queryable, room_id: str) -> None:
        """Delete every other row of the room, its `rooms` row last."""
        for table in _ROOM_TABLES:
            await q.execute(f"DELETE FROM {table} WHERE room_id = ?", room_id)


def _facts(row: Row) -> RoomFactsRow:
    return RoomFactsRow(
        room_id=row[0],
        room_version=row[1],
        creator=row[2],
        created_ts=int(row[3]),
        last_activity_ts=int(row[4]) if row[4] is not None else None,
        published=bool(row[5]),
        joined_members=int(row[6]),
        joined_local_members=int(row[7]),
        state_events=int(row[8]),
    )


def _job(row: Row) -> DeletionJobRow:
    return DeletionJobRow(
        delete_id=row[0], room_id=row[1], status=row[2], requested_by=row[3], options=row[4],
        result=row[5], error=row[6], created_ts=int(row[7]), updated_ts=int(row[8]),
    )  # fmt: skip
