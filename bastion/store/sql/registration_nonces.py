"""SQL for shared-secret registration's one-time nonces (`registration_nonces`)."""

from __future__ import annotations

from bastion.store.database import Queryable


class SqlRegistrationNonceStore:
    """Nonces by value, with when each was issued."""

    async def insert_nonce(self, q: Queryable, nonce: str, now_ms: int) -> None:
        await q.execute(
            "INSERT INTO registration_nonces (nonce, created_ts) VALUES (?, ?)", nonce, now_ms
        )

    async def take_nonce(self, q: Queryable, nonce: str, issued_after_ms: int) -> bool:
        """Delete the nonce (used up, whatever follows); whether it was there and fresh."""
        row = await q.fetch_one(
            "DELETE FROM registration_nonces WHERE nonce = ? RETURNING created_ts", nonce
        )
        return row is not None and int(row[0]) > issued_after_ms

    async def delete_nonces_before(self, q: Queryable, before_ms: int) -> int:
        return await q.execute("DELETE FROM registration_nonces WHERE created_ts <= ?", before_ms)
