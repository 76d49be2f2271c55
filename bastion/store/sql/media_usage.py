"""SQL for the users' media usage (Synapse's `statistics/users/media`): uploaded files counted
and summed per uploader, filtered by creation time and by a search in the user ID or display
name, sorted by Synapse's columns, a page at a time."""

from __future__ import annotations

from typing import Any

from bastion.store.database import Queryable
from bastion.store.protocols.media import MediaUsageQuery, MediaUsageRow
from bastion.store.sql.like import contains

_ORDER = {
    "user_id": "m.user_id",
    "displayname": "COALESCE(p.displayname, '')",
    "media_length": "media_length",
    "media_count": "media_count",
}
_GROUPED = (
    "SELECT m.user_id, p.displayname, COUNT(*) AS media_count,"
    " COALESCE(SUM(m.size), 0) AS media_length"
    " FROM media m LEFT JOIN profiles p ON p.user_id = m.user_id"
)


class SqlMediaUsageStore:
    """Per-uploader counts over `media` (uploads only, not reservations)."""

    async def usage_by_user(
        self, q: Queryable, query: MediaUsageQuery
    ) -> tuple[list[MediaUsageRow], int]:
        clauses, args = ["m.uploaded_ts IS NOT NULL"], list[Any]()
        if query.from_ts is not None:
            clauses.append("m.created_ts >= ?")
            args.append(query.from_ts)
        if query.until_ts is not None:
            clauses.append("m.created_ts <= ?")
            args.append(query.until_ts)
        if query.search_term:
            clauses.append(
                "(LOWER(m.user_id) LIKE ? ESCAPE '\\' OR LOWER(p.displayname) LIKE ? ESCAPE '\\')"
            )
            pattern = contains(query.search_term.lower())
            args += [pattern, pattern]
        grouped = f"{_GROUPED} WHERE {' AND '.join(clauses)} GROUP BY m.user_id, p.displayname"
        total = await q.fetch_val(f"SELECT COUNT(*) FROM ({grouped}) AS per_user", *args)
        direction = "DESC" if query.backwards else "ASC"
        rows = await q.fetch_all(
            f"{grouped} ORDER BY {_ORDER[query.order_by]} {direction}, m.user_id {direction}"
            " LIMIT ? OFFSET ?",
            *args, query.limit, query.start,
        )  # fmt: skip
        found = [MediaUsageRow(str(r[0]), r[1], int(r[2]), int(r[3])) for r in rows]
        return found, int(total or 0)
