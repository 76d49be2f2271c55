"""SQL for profiles (`profiles`: display name and avatar; `profile_fields`: every other field)."""

from __future__ import annotations

import json
from typing import Any

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

    async def get_fields(self, q: Queryable, user_id: str) -> dict[str, Any]:
        rows = await q.fetch_all(
            "SELECT field_name, value_json FROM profile_fields WHERE user_id = ?"
            " ORDER BY field_name",
            user_id,
        )
        return {row["field_name"]: json.loads(row["value_json"]) for row in rows}

    async def set_field(self, q: Queryable, user_id: str, name: str, value_json: str) -> None:
        await q.execute(
            "INSERT INTO profile_fields (user_id, field_name, value_json) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id, field_name) DO UPDATE SET value_json = excluded.value_json",
            user_id,
            name,
            value_json,
        )

    async def delete_field(self, q: Queryable, user_id: str, name: str) -> None:
        await q.execute(
            "DELETE FROM profile_fields WHERE user_id = ? AND field_name = ?", user_id, name
        )

    async def delete_fields(self, q: Queryable, user_id: str) -> int:
        return await q.execute("DELETE FROM profile_fields WHERE user_id = ?", user_id)
