"""SQL for the server notices rooms (`server_notice_rooms`)."""

from __future__ import annotations

from bastion.store.database import Queryable


class SqlServerNoticeRoomStore:
    """One row per user: their current server notices room."""

    async def get_room(self, q: Queryable, user_id: str) -> str | None:
        row = await q.fetch_one(
            "SELECT room_id FROM server_notice_rooms WHERE user_id = ?", user_id
        )
        return None if row is None else str(row[0])

    async def set_room(self, q: Queryable, user_id: str, room_id: str, now_ms: int) -> None:
        await q.execute(
            "INSERT INTO server_notice_rooms (user_id, room_id, created_ts) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET room_id = excluded.room_id,"
            " created_ts = excluded.created_ts",
            user_id,
            room_id,
            now_ms,
        )

    async def is_notice_room(self, q: Queryable, room_id: str) -> bool:
        row = await q.fetch_one("SELECT 1 FROM server_notice_rooms WHERE room_id = ?", room_id)
        return row is not None
