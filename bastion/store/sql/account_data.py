"""SQL for account data (`account_data`) and stored sync filters (`filters`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from bastion.store.database import Queryable
from bastion.store.records import AccountDataRecord
from bastion.store.sql.events import placeholders

_decoder = msgspec.json.Decoder()


class SqlAccountDataStore:
    """Per-user global and per-room account data, and the user's sync filters."""

    async def put(
        self,
        q: Queryable,
        user_id: str,
        room_id: str,
        data_type: str,
        content: dict[str, Any],
        stream_id: int,
    ) -> None:
        await q.execute(
            "INSERT INTO account_data (user_id, room_id, type, content, stream_id)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, room_id, type) DO UPDATE SET"
            " content = excluded.content, stream_id = excluded.stream_id",
            user_id,
            room_id,
            data_type,
            msgspec.json.encode(content).decode(),
            stream_id,
        )

    async def get(
        self, q: Queryable, user_id: str, room_id: str, data_type: str
    ) -> dict[str, Any] | None:
        raw = await q.fetch_val(
            "SELECT content FROM account_data WHERE user_id = ? AND room_id = ? AND type = ?",
            user_id,
            room_id,
            data_type,
        )
        return None if raw is None else dict(_decoder.decode(raw))

    async def get_of_users(
        self, q: Queryable, user_ids: Sequence[str], data_type: str
    ) -> dict[str, dict[str, Any]]:
        """One global entry of each of these users who has it."""
        if not user_ids:
            return {}
        rows = await q.fetch_all(
            "SELECT user_id, content FROM account_data WHERE room_id = '' AND type = ?"
            f" AND user_id IN ({placeholders(len(user_ids))})",
            data_type,
            *user_ids,
        )
        return {str(row[0]): dict(_decoder.decode(row[1])) for row in rows}

    async def changed_after(
        self, q: Queryable, user_id: str, *, after: int, upto: int
    ) -> list[AccountDataRecord]:
        """Entries written in (after, upto] (everything when after is 0)."""
        rows = await q.fetch_all(
            "SELECT room_id, type, content, stream_id FROM account_data WHERE user_id = ?"
            " AND stream_id > ? AND stream_id <= ? ORDER BY stream_id",
            user_id,
            after,
            upto,
        )
        return [
            AccountDataRecord(
                room_id=r[0], type=r[1], content=_decoder.decode(r[2]), stream_id=r[3]
            )
            for r in rows
        ]

    async def insert_filter(
        self, q: Queryable, user_id: str, filter_id: str, definition: str
    ) -> None:
        await q.execute(
            "INSERT INTO filters (user_id, filter_id, definition) VALUES (?, ?, ?)",
            user_id,
            filter_id,
            definition,
        )

    async def get_filter(self, q: Queryable, user_id: str, filter_id: str) -> str | None:
        value: str | None = await q.fetch_val(
            "SELECT definition FROM filters WHERE user_id = ? AND filter_id = ?", user_id, filter_id
        )
        return value

    async def count_filters(self, q: Queryable, user_id: str) -> int:
        return int(
            await q.fetch_val("SELECT COUNT(*) FROM filters WHERE user_id = ?", user_id) or 0
        )
