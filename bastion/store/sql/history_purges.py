"""SQL for the history purges' rows (`history_purges`, migrations/0040); the deleting itself
is the retention store's (`SqlRetentionStore.delete_history`), whose clause keeps state, the
room's latest event and held events."""

from __future__ import annotations

from bastion.store.database import Queryable, Row
from bastion.store.protocols.history_purges import HistoryPurgeRow
from bastion.store.sql import job_lists

_COLUMNS = (
    "purge_id, room_id, requested_by, before_position, delete_local, status, deleted, error,"
    " created_ts, updated_ts"
)


class SqlHistoryPurgeStore:
    """One row per purge, keyed by its opaque ID."""

    async def insert_purge(self, q: Queryable, purge: HistoryPurgeRow) -> None:
        await q.execute(
            f"INSERT INTO history_purges ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            purge.purge_id, purge.room_id, purge.requested_by, purge.before_position,
            int(purge.delete_local), purge.status, purge.deleted, purge.error, purge.created_ts,
            purge.updated_ts,
        )  # fmt: skip

    async def get_purge(self, q: Queryable, purge_id: str) -> HistoryPurgeRow | None:
        row = await q.fetch_one(
            f"SELECT {_COLUMNS} FROM history_purges WHERE purge_id = ?", purge_id
        )
        return _purge(row) if row is not None else None

    async def unfinished_purges(self, q: Queryable) -> list[HistoryPurgeRow]:
        rows = await q.fetch_all(
            f"SELECT {_COLUMNS} FROM history_purges WHERE status = 'active'"
            " ORDER BY created_ts, purge_id"
        )
        return [_purge(row) for row in rows]

    async def purges_of_room(self, q: Queryable, room_id: str, limit: int) -> list[HistoryPurgeRow]:
        """The room's `limit` latest purges, newest first."""
        rows = await q.fetch_all(
            f"SELECT {_COLUMNS} FROM history_purges WHERE room_id = ?"
            " ORDER BY created_ts DESC, purge_id LIMIT ?",
            room_id, limit,
        )  # fmt: skip
        return [_purge(row) for row in rows]

    async def latest_purges(
        self, q: Queryable, room_id: str | None, before_ts: int | None, limit: int
    ) -> list[HistoryPurgeRow]:
        rows = await job_lists.latest_jobs(
            q, "history_purges", _COLUMNS, owner=("room_id", room_id), before_ts=before_ts,
            limit=limit,
        )  # fmt: skip
        return [_purge(row) for row in rows]

    async def update_purge(
        self, q: Queryable, purge_id: str, *, status: str, deleted: int, error: str | None,
        now_ms: int,
    ) -> None:  # fmt: skip
        await q.execute(
            "UPDATE history_purges SET status = ?, deleted = ?, error = ?, updated_ts = ?"
            " WHERE purge_id = ?",
            status, deleted, error, now_ms, purge_id,
        )  # fmt: skip


def _purge(row: Row) -> HistoryPurgeRow:
    return HistoryPurgeRow(
        purge_id=row[0], room_id=row[1], requested_by=row[2], before_position=int(row[3]),
        delete_local=bool(row[4]), status=row[5], deleted=int(row[6]), error=row[7],
        created_ts=int(row[8]), updated_ts=int(row[9]),
    )  # fmt: skip
