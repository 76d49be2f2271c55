"""SQL for registration tokens (`registration_tokens`)."""

from __future__ import annotations

from bastion.store.database import Queryable, Row
from bastion.store.records import RegistrationTokenRecord

_COLUMNS = "token, uses_allowed, completed, expiry_ts, created_ts"


def _token(row: Row) -> RegistrationTokenRecord:
    return RegistrationTokenRecord(
        token=row["token"],
        uses_allowed=row["uses_allowed"],
        completed=row["completed"],
        expiry_ts=row["expiry_ts"],
        created_ts=row["created_ts"],
    )


class SqlRegistrationTokenStore:
    """Registration tokens with a use count and an optional expiry."""

    async def insert_token(
        self, q: Queryable, token: str, uses_allowed: int | None, expiry_ts: int | None, now_ms: int
    ) -> None:
        await q.execute(
            "INSERT INTO registration_tokens (token, uses_allowed, expiry_ts, created_ts)"
            " VALUES (?, ?, ?, ?)",
            token,
            uses_allowed,
            expiry_ts,
            now_ms,
        )

    async def get_token(self, q: Queryable, token: str) -> RegistrationTokenRecord | None:
        row = await q.fetch_one(
            f"SELECT {_COLUMNS} FROM registration_tokens WHERE token = ?", token
        )
        return None if row is None else _token(row)

    async def list_tokens(self, q: Queryable) -> list[RegistrationTokenRecord]:
        rows = await q.fetch_all(f"SELECT {_COLUMNS} FROM registration_tokens ORDER BY created_ts")
        return [_token(row) for row in rows]

    async def delete_token(self, q: Queryable, token: str) -> bool:
        return await q.execute("DELETE FROM registration_tokens WHERE token = ?", token) > 0

    async def update_token(
        self, q: Queryable, token: str, uses_allowed: int | None, expiry_ts: int | None
    ) -> bool:
        changed = await q.execute(
            "UPDATE registration_tokens SET uses_allowed = ?, expiry_ts = ? WHERE token = ?",
            uses_allowed,
            expiry_ts,
            token,
        )
        return changed > 0

    async def consume_token(self, q: Queryable, token: str, now_ms: int) -> bool:
        """Use the token once if it is still valid; one statement, so no two users race past."""
        changed = await q.execute(
            "UPDATE registration_tokens SET completed = completed + 1"
            " WHERE token = ? AND (uses_allowed IS NULL OR completed < uses_allowed)"
            " AND (expiry_ts IS NULL OR expiry_ts > ?)",
            token,
            now_ms,
        )
        return changed > 0
