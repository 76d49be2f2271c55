"""SQL for `openid_tokens` (migration 0029)."""

from __future__ import annotations

from bastion.store.database import Queryable


class SqlOpenIdStore:
    async def insert_token(
        self, q: Queryable, token_hash: str, user_id: str, expires_ts: int
    ) -> None:
        await q.execute(
            "INSERT INTO openid_tokens (token_hash, user_id, expires_ts) VALUES (?, ?, ?)",
            token_hash,
            user_id,
            expires_ts,
        )

    async def delete_expired(self, q: Queryable, now_ms: int) -> int:
        return await q.execute("DELETE FROM openid_tokens WHERE expires_ts <= ?", now_ms)

    async def find_active_owner(self, q: Queryable, token_hash: str, now_ms: int) -> str | None:
        """The token's user, unless it expired or the account is deactivated or locked by an
        admin (one indexed query: offboarding ends these tokens at once, like access tokens)."""
        row = await q.fetch_one(
            "SELECT t.user_id FROM openid_tokens t JOIN users u ON u.user_id = t.user_id"
            " WHERE t.token_hash = ? AND t.expires_ts > ? AND u.is_deactivated = 0"
            " AND u.admin_locked = 0",
            token_hash,
            now_ms,
        )
        return None if row is None else str(row[0])
