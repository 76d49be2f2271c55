"""SQL for User-Interactive Auth sessions (`uia_sessions`)."""

from __future__ import annotations

from bastion.store.database import Queryable


class SqlUiaSessionStore:
    """Session IDs handed out in UIA 401 responses, kept until used or expired."""

    async def insert_session(
        self, q: Queryable, session_id: str, now_ms: int, action: str = ""
    ) -> None:
        await q.execute(
            "INSERT INTO uia_sessions (session_id, created_ts, action) VALUES (?, ?, ?)",
            session_id,
            now_ms,
            action,
        )

    async def session_action(
        self, q: Queryable, session_id: str, created_after_ms: int
    ) -> str | None:
        row = await q.fetch_one(
            "SELECT action FROM uia_sessions WHERE session_id = ? AND created_ts > ?",
            session_id,
            created_after_ms,
        )
        return None if row is None else str(row[0])

    async def session_exists(self, q: Queryable, session_id: str, created_after_ms: int) -> bool:
        row = await q.fetch_one(
            "SELECT 1 FROM uia_sessions WHERE session_id = ? AND created_ts > ?",
            session_id,
            created_after_ms,
        )
        return row is not None

    async def delete_session(self, q: Queryable, session_id: str) -> None:
        await q.execute("DELETE FROM uia_sessions WHERE session_id = ?", session_id)

    async def delete_sessions_before(self, q: Queryable, created_before_ms: int) -> None:
        await q.execute("DELETE FROM uia_sessions WHERE created_ts < ?", created_before_ms)
