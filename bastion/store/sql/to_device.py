"""SQL for to-device messages (`to_device_messages`, `to_device_txns`).

A message waits for its device until the device syncs with a token at or past its position, which
proves the device received it; then it is deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from bastion.store.database import Queryable
from bastion.store.records import SendTxn

_decoder = msgspec.json.Decoder()


class SqlToDeviceStore:
    """Per-device inboxes."""

    async def insert_messages(
        self, q: Queryable, rows: Sequence[tuple[int, str, str, str, str, dict[str, Any]]]
    ) -> None:
        """(position, user, device, sender, type, content) for each message."""
        await q.execute_many(
            "INSERT INTO to_device_messages (stream_id, user_id, device_id, sender, type, content)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(p, u, d, s, t, msgspec.json.encode(c).decode()) for p, u, d, s, t, c in rows],
        )

    async def pending(
        self, q: Queryable, user_id: str, device_id: str, *, upto: int, limit: int
    ) -> list[tuple[int, dict[str, Any]]]:
        """(position, event) of messages waiting for a device, oldest first."""
        rows = await q.fetch_all(
            "SELECT stream_id, sender, type, content FROM to_device_messages"
            " WHERE user_id = ? AND device_id = ? AND stream_id <= ? ORDER BY stream_id LIMIT ?",
            user_id,
            device_id,
            upto,
            limit,
        )
        return [
            (r[0], {"sender": r[1], "type": r[2], "content": _decoder.decode(r[3])}) for r in rows
        ]

    async def stream_messages(
        self, q: Queryable, after: int, upto: int, limit: int
    ) -> list[tuple[int, str, str, dict[str, Any]]]:
        """(position, user, device, event) of every inbox's messages in (after, upto], in
        stream order (the primary key): what application services receive of their users'."""
        rows = await q.fetch_all(
            "SELECT stream_id, user_id, device_id, sender, type, content FROM to_device_messages"
            " WHERE stream_id > ? AND stream_id <= ? ORDER BY stream_id LIMIT ?",
            after,
            upto,
            limit,
        )
        return [
            (r[0], r[1], r[2], {"sender": r[3], "type": r[4], "content": _decoder.decode(r[5])})
            for r in rows
        ]

    async def delete_delivered(self, q: Queryable, user_id: str, device_id: str, upto: int) -> int:
        """Delete what the device has acknowledged (positions up to `upto`).

        The positions of deleted rows are remembered in `stream_high_water` first, so the
        stream counter cannot restart below them (see store/stream.py).
        """
        await q.execute(
            "INSERT INTO stream_high_water (id, position) VALUES (1, ?) ON CONFLICT (id) DO UPDATE"
            " SET position = CASE WHEN excluded.position > stream_high_water.position"
            " THEN excluded.position ELSE stream_high_water.position END",
            upto,
        )
        return await q.execute(
            "DELETE FROM to_device_messages WHERE user_id = ? AND device_id = ? AND stream_id <= ?",
            user_id,
            device_id,
            upto,
        )

    async def remember_txn(self, q: Queryable, txn: SendTxn, now_ms: int) -> bool:
        """Record a send; False if this (device, endpoint, txn_id) was already used."""
        changed = await q.execute(
            "INSERT INTO to_device_endpoint_txns (user_id, device_id, endpoint, txn_id, created_ts)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            txn.user_id,
            txn.device_id,
            txn.endpoint,
            txn.txn_id,
            now_ms,
        )
        return changed == 1
