"""SQL for the user directory (`user_directory_terms`, read with `users` and `profiles`).

A search is one query: each term range is an index range scan of the primary key; deactivated
accounts are left out here as well as by removing their terms, so a missed removal cannot list
one.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from bastion.store.database import Queryable
from bastion.store.protocols.directory import DirectoryUserRow, UserSearch

# The searcher, people sharing a joined room with them, and the members of rooms anyone may look
# into: a public join rule or world-readable history (spec: the minimum a directory considers).
_VISIBLE_TO = (
    " AND (u.user_id = ? OR u.user_id IN (SELECT them.user_id FROM memberships me"
    " JOIN memberships them ON them.room_id = me.room_id AND them.membership = 'join'"
    " WHERE me.user_id = ? AND me.membership = 'join')"
    " OR u.user_id IN (SELECT them.user_id FROM current_state cs"
    " JOIN events e ON e.event_id = cs.event_id"
    " JOIN memberships them ON them.room_id = cs.room_id AND them.membership = 'join'"
    " WHERE cs.state_key = '' AND ((cs.type = 'm.room.join_rules' AND e.state_value = 'public')"
    " OR (cs.type = 'm.room.history_visibility' AND e.state_value = 'world_readable'))))"
)


class SqlUserDirectoryStore:
    """Search terms per user."""

    async def set_terms(self, q: Queryable, user_id: str, terms: Collection[str]) -> None:
        """Replace the user's terms."""
        await q.execute("DELETE FROM user_directory_terms WHERE user_id = ?", user_id)
        if terms:
            await q.execute_many(
                "INSERT INTO user_directory_terms (term, user_id) VALUES (?, ?)",
                [(term, user_id) for term in sorted(terms)],
            )

    async def delete_terms(self, q: Queryable, user_id: str) -> None:
        await q.execute("DELETE FROM user_directory_terms WHERE user_id = ?", user_id)

    async def unindexed_users(self, q: Queryable, limit: int) -> list[tuple[str, str | None]]:
        """(user_id, displayname) of active accounts that have no terms yet."""
        rows = await q.fetch_all(
            "SELECT u.user_id, p.displayname FROM users u"
            " LEFT JOIN profiles p ON p.user_id = u.user_id WHERE u.is_deactivated = 0"
            " AND NOT EXISTS (SELECT 1 FROM user_directory_terms t WHERE t.user_id = u.user_id)"
            " ORDER BY u.user_id LIMIT ?",
            limit,
        )
        return [(row[0], row[1]) for row in rows]

    async def search(self, q: Queryable, query: UserSearch) -> list[DirectoryUserRow]:
        """Active users holding a term in every range: named users first, by name."""
        sql = (
            "SELECT u.user_id, p.displayname, p.avatar_url FROM users u"
            " LEFT JOIN profiles p ON p.user_id = u.user_id WHERE u.is_deactivated = 0"
        )
        args: list[Any] = []
        for low, high in query.term_ranges:
            sql += (
                " AND u.user_id IN (SELECT user_id FROM user_directory_terms"
                " WHERE term >= ? AND term < ?)"
            )
            args += [low, high]
        if query.shared_with is not None:
            sql += _VISIBLE_TO
            args += [query.shared_with, query.shared_with]
        sql += " ORDER BY (p.displayname IS NULL), p.displayname, u.user_id LIMIT ?"
        rows = await q.fetch_all(sql, *args, query.limit)
        return [DirectoryUserRow(user_id=r[0], displayname=r[1], avatar_url=r[2]) for r in rows]
