"""SQL for accounts (`users`)."""

from __future__ import annotations

from bastion.store.database import Queryable, Row
from bastion.store.records import UserRecord

_COLUMNS = (
    "user_id, password_hash, is_admin, is_deactivated, created_ts, failed_logins, locked_until_ts,"
    " manager, admin_locked, suspended, shadow_banned"
)


def _user(row: Row) -> UserRecord:
    return UserRecord(
        user_id=row["user_id"],
        password_hash=row["password_hash"],
        is_admin=bool(row["is_admin"]),
        is_deactivated=bool(row["is_deactivated"]),
        created_ts=row["created_ts"],
        failed_logins=row["failed_logins"],
        locked_until_ts=row["locked_until_ts"],
        manager=row["manager"],
        admin_locked=bool(row["admin_locked"]),
        suspended=bool(row["suspended"]),
        shadow_banned=bool(row["shadow_banned"]),
    )


class SqlUserStore:
    """Accounts in the `users` table."""

    async def insert_user(
        self, q: Queryable, user_id: str, password_hash: str | None, *, is_admin: bool, now_ms: int
    ) -> None:
        await q.execute(
            "INSERT INTO users (user_id, password_hash, is_admin, created_ts) VALUES (?, ?, ?, ?)",
            user_id,
            password_hash,
            int(is_admin),
            now_ms,
        )

    async def get_user(self, q: Queryable, user_id: str) -> UserRecord | None:
        row = await q.fetch_one(f"SELECT {_COLUMNS} FROM users WHERE user_id = ?", user_id)
        return None if row is None else _user(row)

    async def list_users(self, q: Queryable) -> list[UserRecord]:
        rows = await q.fetch_all(f"SELECT {_COLUMNS} FROM users ORDER BY user_id")
        return [_user(row) for row in rows]

    async def has_active_admin(self, q: Queryable) -> bool:
        row = await q.fetch_one(
            "SELECT 1 FROM users WHERE is_admin = 1 AND is_deactivated = 0 LIMIT 1"
        )
        return row is not None

    async def set_manager(self, q: Queryable, user_id: str, manager: str | None) -> None:
        await q.execute("UPDATE users SET manager = ? WHERE user_id = ?", manager, user_id)

    async def set_admin_locked(self, q: Queryable, user_id: str, locked: bool) -> None:
        await q.execute("UPDATE users SET admin_locked = ? WHERE user_id = ?", int(locked), user_id)

    async def set_suspended(self, q: Queryable, user_id: str, suspended: bool) -> None:
        await q.execute("UPDATE users SET suspended = ? WHERE user_id = ?", int(suspended), user_id)

    async def suspended_users(self, q: Queryable) -> list[str]:
        rows = await q.fetch_all("SELECT user_id FROM users WHERE suspended = 1")
        return [str(r[0]) for r in rows]

    async def unlock(self, q: Queryable, user_id: str) -> None:
        """End both locks: the wrong-password lockout and an admin's lock."""
        await q.execute(
            "UPDATE users SET failed_logins = 0, locked_until_ts = 0, admin_locked = 0"
            " WHERE user_id = ?",
            user_id,
        )

    async def update_password_hash(self, q: Queryable, user_id: str, password_hash: str) -> None:
        await q.execute(
            "UPDATE users SET password_hash = ?, failed_logins = 0, locked_until_ts = 0"
            " WHERE user_id = ?",
            password_hash,
            user_id,
        )

    async def set_deactivated(self, q: Queryable, user_id: str) -> None:
        await q.execute("UPDATE users SET is_deactivated = 1 WHERE user_id = ?", user_id)

    async def record_failed_login(
        self, q: Queryable, user_id: str, *, lock_after: int, locked_until_ts: int
    ) -> int:
        """Count one more wrong password; lock the account once the count reaches `lock_after`."""
        count: int | None = await q.fetch_val(
            "UPDATE users SET failed_logins = failed_logins + 1 WHERE user_id = ?"
            " RETURNING failed_logins",
            user_id,
        )
        if count is None:
            return 0
        if lock_after > 0 and count >= lock_after:
            await q.execute(
                "UPDATE users SET locked_until_ts = ?, failed_logins = 0 WHERE user_id = ?",
                locked_until_ts,
                user_id,
            )
        return count

    async def clear_failed_logins(self, q: Queryable, user_id: str) -> None:
        await q.execute(
            "UPDATE users SET failed_logins = 0 WHERE user_id = ? AND failed_logins <> 0", user_id
        )
