"""SQL for application services' delivery progress (store/protocols/appservices.py)."""

from __future__ import annotations

from typing import Any

import msgspec

from bastion.events.model import StoredEvent
from bastion.store.database import Queryable
from bastion.store.protocols.appservices import AppServiceStream
from bastion.store.records import ReceiptRecord
from bastion.store.sql.events import EVENT_COLUMNS, event_from_row
from bastion.store.sql.receipts import RECEIPT_COLUMNS, receipt_from_row

_STREAM_COLUMNS = (
    "appservice_id, done_upto, txn_id, pending_upto, pending_events, failing_since_ms,"
    " last_error, pending_ephemeral"
)


class SqlAppServiceStore:
    """`pending_ephemeral` holds a JSON list (the ephemeral events) or, when the transaction
    also carries encryption data, an object {"ephemeral": [...], "encryption": {...}}: both
    shapes are read, so rows written before the object shape existed still decode."""

    async def get_stream(self, q: Queryable, appservice_id: str) -> AppServiceStream | None:
        row = await q.fetch_one(
            f"SELECT {_STREAM_COLUMNS} FROM appservice_streams WHERE appservice_id = ?",
            appservice_id,
        )
        if row is None:
            return None
        ephemeral, encryption = None, None
        if row[7] is not None:
            held = _decode(row[7], list[dict[str, Any]] | dict[str, Any])
            if isinstance(held, dict):
                ephemeral, encryption = held["ephemeral"], held["encryption"]
            else:
                ephemeral = held
        return AppServiceStream(
            appservice_id=str(row[0]),
            done_upto=int(row[1]),
            txn_id=int(row[2]),
            pending_upto=None if row[3] is None else int(row[3]),
            pending_events=None if row[4] is None else _decode(row[4], list[str]),
            failing_since_ms=None if row[5] is None else int(row[5]),
            last_error=None if row[6] is None else str(row[6]),
            pending_ephemeral=ephemeral,
            pending_encryption=encryption,
        )

    async def start_stream(self, q: Queryable, appservice_id: str, done_upto: int) -> None:
        await q.execute(
            "INSERT INTO appservice_streams (appservice_id, done_upto, txn_id) VALUES (?, ?, 1)"
            " ON CONFLICT (appservice_id) DO NOTHING",
            appservice_id,
            done_upto,
        )

    async def set_pending(
        self,
        q: Queryable,
        appservice_id: str,
        pending_upto: int,
        contents: tuple[list[str], list[dict[str, Any]]],
        encryption: dict[str, Any] | None = None,
    ) -> None:
        event_ids, ephemeral = contents
        held: object = ephemeral
        if encryption is not None:
            held = {"ephemeral": ephemeral, "encryption": encryption}
        await q.execute(
            "UPDATE appservice_streams SET pending_upto = ?, pending_events = ?,"
            " pending_ephemeral = ? WHERE appservice_id = ?",
            pending_upto,
            msgspec.json.encode(event_ids).decode(),
            msgspec.json.encode(held).decode(),
            appservice_id,
        )

    async def skip_to(self, q: Queryable, appservice_id: str, done_upto: int) -> None:
        await q.execute(
            "UPDATE appservice_streams SET done_upto = ? WHERE appservice_id = ?"
            " AND pending_upto IS NULL AND done_upto < ?",
            done_upto,
            appservice_id,
            done_upto,
        )

    async def delivered(
        self, q: Queryable, appservice_id: str, done_upto: int, next_txn_id: int
    ) -> None:
        await q.execute(
            "UPDATE appservice_streams SET done_upto = ?, txn_id = ?, pending_upto = NULL,"
            " pending_events = NULL, pending_ephemeral = NULL, failing_since_ms = NULL,"
            " last_error = NULL"
            " WHERE appservice_id = ?",
            done_upto,
            next_txn_id,
            appservice_id,
        )

    async def set_failing(
        self, q: Queryable, appservice_id: str, since_ms: int, error: str
    ) -> None:
        await q.execute(
            "UPDATE appservice_streams SET failing_since_ms = COALESCE(failing_since_ms, ?),"
            " last_error = ? WHERE appservice_id = ?",
            since_ms,
            error[:500],
            appservice_id,
        )

    async def stream_events(
        self, q: Queryable, after: int, upto: int, limit: int
    ) -> list[StoredEvent]:
        """Room events of every room in (after, upto], in stream order (the primary key)."""
        rows = await q.fetch_all(
            f"SELECT {EVENT_COLUMNS} FROM events e WHERE e.stream_ordering > ?"
            " AND e.stream_ordering <= ? ORDER BY e.stream_ordering LIMIT ?",
            after,
            upto,
            limit,
        )
        return [event_from_row(row) for row in rows]

    async def stream_receipts(
        self, q: Queryable, after: int, upto: int, limit: int
    ) -> list[ReceiptRecord]:
        """Receipts of every room written in (after, upto], in stream order."""
        rows = await q.fetch_all(
            f"SELECT {RECEIPT_COLUMNS} FROM receipts r WHERE r.stream_id > ? AND r.stream_id <= ?"
            " ORDER BY r.stream_id LIMIT ?",
            after,
            upto,
            limit,
        )
        return [receipt_from_row(row) for row in rows]


def _decode(raw: object, kind: Any) -> Any:
    return msgspec.json.decode(str(raw), type=kind)
