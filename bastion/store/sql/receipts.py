"""SQL for read receipts (`receipts`)."""

from __future__ import annotations

from collections.abc import Sequence

from bastion.store.database import Queryable, Row
from bastion.store.records import ReceiptRecord
from bastion.store.sql.events import placeholders

RECEIPT_COLUMNS = "r.room_id, r.receipt_type, r.user_id, r.thread_id, r.event_id, r.ts, r.stream_id"


class SqlReceiptStore:
    """The newest receipt per (room, type, user, thread)."""

    async def put_receipt(self, q: Queryable, receipt: ReceiptRecord) -> None:
        await q.execute(
            "INSERT INTO receipts (room_id, receipt_type, user_id, thread_id, event_id, ts,"
            " stream_id) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT"
            " (room_id, receipt_type, user_id, thread_id) DO UPDATE SET event_id ="
            " excluded.event_id, ts = excluded.ts, stream_id = excluded.stream_id",
            receipt.room_id, receipt.receipt_type, receipt.user_id, receipt.thread_id,
            receipt.event_id, receipt.ts, receipt.stream_id,
        )  # fmt: skip

    async def receipts_changed(
        self, q: Queryable, viewer: str, *, after: int, upto: int
    ) -> list[ReceiptRecord]:
        """Receipts written in (after, upto] in rooms the viewer is joined to."""
        rows = await q.fetch_all(
            f"SELECT {RECEIPT_COLUMNS} FROM receipts r JOIN memberships m ON m.room_id = r.room_id"
            " AND m.user_id = ? AND m.membership = 'join'"
            " WHERE r.stream_id > ? AND r.stream_id <= ? ORDER BY r.stream_id",
            viewer,
            after,
            upto,
        )
        return [receipt_from_row(row) for row in rows]

    async def receipts_in_rooms(self, q: Queryable, room_ids: Sequence[str]) -> list[ReceiptRecord]:
        """Every current receipt of these rooms (initial sync)."""
        if not room_ids:
            return []
        rows = await q.fetch_all(
            f"SELECT {RECEIPT_COLUMNS} FROM receipts r"
            f" WHERE r.room_id IN ({placeholders(len(room_ids))})",
            *room_ids,
        )
        return [receipt_from_row(row) for row in rows]


def receipt_from_row(row: Row) -> ReceiptRecord:
    return ReceiptRecord(row[0], row[1], row[2], row[3], row[4], row[5], row[6])
