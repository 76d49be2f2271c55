"""SQL for the audit log (`audit_log`, `audit_head`).

Rows are only ever inserted; nothing in the server updates or deletes them.
"""

from __future__ import annotations

from typing import Any

from bastion.store.database import Queryable, Row
from bastion.store.protocols.audit import AuditQuery, AuditRow

_COLUMNS = "seq, ts, actor_kind, actor, action, target, outcome, details, prev_hash, hash"


def _row(row: Row) -> AuditRow:
    return AuditRow(
        seq=int(row[0]), ts=int(row[1]), actor_kind=row[2], actor=row[3], action=row[4],
        target=row[5], outcome=row[6], details=row[7], prev_hash=row[8], hash=row[9],
    )  # fmt: skip


class SqlAuditStore:
    """The chain in `audit_log`, its head in the one row of `audit_head`."""

    async def advance_head(self, q: Queryable) -> tuple[int, str]:
        """Take the next sequence number, and the hash it chains to.

        The UPDATE comes first so that it takes the head's row lock (PostgreSQL) before reading
        it: a concurrent appender waits until this transaction ends, then sees its hash."""
        row = await q.fetch_one(
            "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash"
        )
        assert row is not None, "audit_head is seeded by its migration"
        return int(row[0]), str(row[1])

    async def set_head_hash(self, q: Queryable, hash_: str) -> None:
        await q.execute("UPDATE audit_head SET hash = ? WHERE id = 1", hash_)

    async def head(self, q: Queryable) -> tuple[int, str]:
        row = await q.fetch_one("SELECT seq, hash FROM audit_head WHERE id = 1")
        assert row is not None, "audit_head is seeded by its migration"
        return int(row[0]), str(row[1])

    async def append(self, q: Queryable, row: AuditRow) -> None:
        await q.execute(
            f"INSERT INTO audit_log ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            row.seq, row.ts, row.actor_kind, row.actor, row.action, row.target, row.outcome,
            row.details, row.prev_hash, row.hash,
        )  # fmt: skip

    async def rows_after(self, q: Queryable, seq: int, limit: int) -> list[AuditRow]:
        rows = await q.fetch_all(
            f"SELECT {_COLUMNS} FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?", seq, limit
        )
        return [_row(r) for r in rows]

    async def search(self, q: Queryable, query: AuditQuery) -> list[AuditRow]:
        """Rows matching every filter set, oldest first, after `query.after`."""
        clauses, args = ["seq > ?"], [query.after]
        filters: list[tuple[str, Any]] = [
            ("actor = ?", query.actor),
            ("target = ?", query.target),
            ("action = ?", query.action),
            ("ts >= ?", query.since_ts),
            ("ts < ?", query.until_ts),
        ]
        for clause, value in filters:
            if value is not None:
                clauses.append(clause)
                args.append(value)
        rows = await q.fetch_all(
            f"SELECT {_COLUMNS} FROM audit_log WHERE {' AND '.join(clauses)} ORDER BY seq LIMIT ?",
            *args,
            query.limit,
        )
        return [_row(r) for r in rows]
