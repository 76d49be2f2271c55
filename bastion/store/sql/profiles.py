"""SQL for profiles (`profiles`)."""

from __future__ import annotations

from bastion.store.database import Queryable
from bastion.store.records import ProfileRecord


class SqlProfileStore:
    """Display names and avatar URLs, one row per user once either is set."""

    async def get_profile(self, q: Queryable, user_id: str) -> ProfileRecord | None:
        row = await q.fetch_one(
            "SELECT displayname, avatar_url FROM profiles WHERE user_id = ?", user_id
        )
        if row is None:
            return None
        return ProfileRecord(displayname=row["displayname"], avatar_url=row["avatar_url"])

    async def set_displayname(self, q: Queryable, user_id: str, value: str | None) -> None:
        await q.execute(
            "INSERT INTO profiles (user_id, displayname) VALUES (?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET displayname = excluded.displayname",
            user_id,
            value,
        )

    async def set_avatar_url(self, q: Queryable, user_id: str, value: str | None) -> None:
        await q.execute(
            "INSERT INTO profiles (user_id, avatar_url) VALUES (?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET avatar_url = excluded.avatar_url",
            user_id,
            value,
        )
