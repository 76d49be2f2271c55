"""The one query shape behind the admin's list of background jobs (Synapse's
`scheduled_tasks`): a job table's latest rows by last change, optionally of one room or user
and changed at or before a time. Each job store asks it of its own table."""

from __future__ import annotations

from bastion.store.database import Queryable, Row


async def latest_jobs(
    q: Queryable, table: str, columns: str, *,
    owner: tuple[str, str | None], before_ts: int | None, limit: int,
) -> list[Row]:  # fmt: skip
    """At most `limit` rows of `table`, the latest changed first; `owner` is (the column naming
    the job's room or user, the value wanted or None for all). Table and column names come from
    the stores, never from a request."""
    column, value = owner
    clauses: list[str] = []
    args: list[object] = []
    if value is not None:
        clauses.append(f"{column} = ?")
        args.append(value)
    if before_ts is not None:
        clauses.append("updated_ts <= ?")
        args.append(before_ts)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    return await q.fetch_all(
        f"SELECT {columns} FROM {table}{where} ORDER BY updated_ts DESC LIMIT ?", *args, limit
    )
