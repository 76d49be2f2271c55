"""SQL for admin console sessions (`console_sessions`)."""

from __future__ import annotations

from bastion.store.database import Queryable
from bastion.store.protocols.console import ConsoleSessionRow, LiveConsoleSession

_COLUMNS = (
    "s.session_hash, s.user_id, s.device_id, s.csrf_token, s.language, s.created_ts, s.last_seen_ts"
)


class SqlConsoleSessionStore:
    """One row per signed-in browser; read joined with its account and device."""

    async def insert(self, q: Queryable, row: ConsoleSessionRow) -> None:
        await q.execute(
            "INSERT INTO console_sessions (session_hash, user_id, device_id, csrf_token,"
            " language, created_ts, last_seen_ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
            row.session_hash, row.user_id, row.device_id, row.csrf_token, row.language,
            row.created_ts, row.last_seen_ts,
        )  # fmt: skip

    async def find(self, q: Queryable, session_hash: str) -> LiveConsoleSession | None:
        """The session with its account's admin flag; a deleted device reads as unusable."""
        row = await q.fetch_one(
            f"SELECT {_COLUMNS}, u.is_admin, u.is_deactivated, u.admin_locked,"
            " d.device_id AS live_device"
            " FROM console_sessions s JOIN users u ON u.user_id = s.user_id"
            " LEFT JOIN devices d ON d.user_id = s.user_id AND d.device_id = s.device_id"
            " WHERE s.session_hash = ?",
            session_hash,
        )
        if row is None:
            return None
        session = ConsoleSessionRow(
            row[0], row[1], row[2], row[3], row[4], int(row[5]), int(row[6])
        )
        usable = not row["is_deactivated"] and not row["admin_locked"]
        return LiveConsoleSession(
            session, bool(row["is_admin"]), usable and row["live_device"] is not None
        )

    async def touch(self, q: Queryable, session_hash: str, now_ms: int) -> None:
        await q.execute(
            "UPDATE console_sessions SET last_seen_ts = ? WHERE session_hash = ?",
            now_ms, session_hash,
        )  # fmt: skip

    async def set_language(self, q: Queryable, session_hash: str, language: str) -> None:
        await q.execute(
            "UPDATE console_sessions SET language = ? WHERE session_hash = ?",
            language, session_hash,
        )  # fmt: skip

    async def delete(self, q: Queryable, session_hash: str) -> None:
        await q.execute("DELETE FROM console_sessions WHERE session_hash = ?", session_hash)


_DAY_MS = 86_400_000
# Messages as clients send them: plain and encrypted.
_MESSAGE_TYPES = ("m.room.message", "m.room.encrypted")


class SqlDashboardStore:
    """The dashboard's counts, each one aggregate query."""

    async def count_active_users(self, q: Queryable, since_ts: int) -> int:
        """Active accounts with a device seen at or after `since_ts`."""
        count = await q.fetch_val(
            "SELECT COUNT(DISTINCT d.user_id) FROM devices d JOIN users u ON u.user_id = d.user_id"
            " WHERE d.last_seen_ts >= ? AND u.is_deactivated = 0",
            since_ts,
        )
        return int(count or 0)

    async def messages_per_day(self, q: Queryable, since_ts: int) -> dict[int, int]:
        """Messages sent at or after `since_ts`, by UTC day (days since the epoch)."""
        rows = await q.fetch_all(
            f"SELECT origin_server_ts / {_DAY_MS} AS day, COUNT(*) FROM events"
            " WHERE type IN (?, ?) AND origin_server_ts >= ? GROUP BY origin_server_ts / "
            f"{_DAY_MS}",
            *_MESSAGE_TYPES,
            since_ts,
        )
        return {int(row[0]): int(row[1]) for row in rows}

    async def count_open_dlp_reviews(self, q: Queryable) -> int:
        """Entries of the DLP review queue still to be looked at."""
        count = await q.fetch_val("SELECT COUNT(*) FROM dlp_reviews WHERE status = 'open'")
        return int(count or 0)
