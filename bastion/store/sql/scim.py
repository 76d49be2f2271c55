"""SQL for SCIM provisioning: `scim_tokens`, `scim_users`, `scim_groups`, `scim_group_members`,
`scim_group_rooms` (migrations/0021_create_scim.sql).

`find_accounts` reads `users` and `profiles` too (a read model: what SCIM shows of an account);
`reactivate_account` is the one write here to `users`, the inverse of `set_deactivated`.
"""

from __future__ import annotations

from collections.abc import Sequence

from bastion.store.database import Queryable, Row
from bastion.store.protocols.scim import (
    AccountFacts,
    AccountQuery,
    GroupMember,
    ScimAccountRow,
    ScimGroupRow,
    ScimTokenRow,
)

_ACCOUNT_SELECT = (
    "SELECT u.user_id, p.displayname, u.is_deactivated, u.manager, u.created_ts,"
    " s.user_name, s.external_id, s.updated_ts, s.attributes"
    " FROM users u LEFT JOIN profiles p ON p.user_id = u.user_id"
    " LEFT JOIN scim_users s ON s.user_id = u.user_id WHERE s.deleted_ts IS NULL"
)
_GROUP_SELECT = (
    "SELECT group_id, display_name, external_id, created_ts, updated_ts FROM scim_groups"
)


def _account(row: Row) -> ScimAccountRow:
    updated = row[7]
    return ScimAccountRow(
        row[0], row[1], bool(row[2]), row[3], int(row[4]), row[5], row[6],
        None if updated is None else int(updated), row[8] or "{}",
    )  # fmt: skip


def _group(row: Row) -> ScimGroupRow:
    return ScimGroupRow(row[0], row[1], row[2], int(row[3]), int(row[4]))


class SqlScimStore:
    """SCIM's tables, and its view of accounts."""

    async def insert_token(self, q: Queryable, name: str, token_hash: str, now_ms: int) -> None:
        """A unique-key violation if the name (or, impossibly, the token) is taken."""
        await q.execute(
            "INSERT INTO scim_tokens (name, token_hash, created_ts) VALUES (?, ?, ?)",
            name, token_hash, now_ms,
        )  # fmt: skip

    async def delete_token(self, q: Queryable, name: str) -> bool:
        return await q.execute("DELETE FROM scim_tokens WHERE name = ?", name) > 0

    async def list_tokens(self, q: Queryable) -> list[ScimTokenRow]:
        rows = await q.fetch_all(
            "SELECT name, created_ts, last_used_ts FROM scim_tokens ORDER BY name"
        )
        return [ScimTokenRow(r[0], int(r[1]), None if r[2] is None else int(r[2])) for r in rows]

    async def find_token(self, q: Queryable, token_hash: str) -> str | None:
        name: str | None = await q.fetch_val(
            "SELECT name FROM scim_tokens WHERE token_hash = ?", token_hash
        )
        return name

    async def touch_token(self, q: Queryable, name: str, now_ms: int) -> None:
        await q.execute("UPDATE scim_tokens SET last_used_ts = ? WHERE name = ?", now_ms, name)

    async def find_accounts(self, q: Queryable, query: AccountQuery) -> list[ScimAccountRow]:
        conditions: list[str] = []
        args: list[object] = []
        if query.user_id is not None:
            conditions.append("u.user_id = ?")
            args.append(query.user_id)
        if query.external_id is not None:
            conditions.append("s.external_id = ?")
            args.append(query.external_id)
        where = "".join(f" AND {condition}" for condition in conditions)
        rows = await q.fetch_all(f"{_ACCOUNT_SELECT}{where} ORDER BY u.user_id", *args)
        return [_account(r) for r in rows]

    async def upsert_account_facts(self, q: Queryable, facts: AccountFacts) -> None:
        await q.execute(
            "INSERT INTO scim_users"
            " (user_id, user_name, external_id, attributes, created_ts, updated_ts)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
            " user_name = excluded.user_name, external_id = excluded.external_id,"
            " attributes = excluded.attributes, updated_ts = excluded.updated_ts",
            facts.user_id, facts.user_name, facts.external_id, facts.attributes, facts.now_ms,
            facts.now_ms,
        )  # fmt: skip

    async def mark_deleted(self, q: Queryable, user_id: str, now_ms: int) -> None:
        localpart = user_id[1:].split(":", 1)[0]
        await q.execute(
            "INSERT INTO scim_users (user_id, user_name, created_ts, updated_ts, deleted_ts)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
            " deleted_ts = excluded.deleted_ts, updated_ts = excluded.updated_ts",
            user_id, localpart, now_ms, now_ms, now_ms,
        )  # fmt: skip

    async def reactivate_account(
        self, q: Queryable, user_id: str, password_hash: str | None
    ) -> None:
        """Clear the deactivated flag and set the password (None: no password until set)."""
        await q.execute(
            "UPDATE users SET is_deactivated = 0, password_hash = ?, failed_logins = 0,"
            " locked_until_ts = 0 WHERE user_id = ?",
            password_hash, user_id,
        )  # fmt: skip

    async def insert_group(self, q: Queryable, group: ScimGroupRow) -> None:
        await q.execute(
            "INSERT INTO scim_groups (group_id, display_name, external_id, created_ts, updated_ts)"
            " VALUES (?, ?, ?, ?, ?)",
            group.group_id, group.display_name, group.external_id, group.created_ts,
            group.updated_ts,
        )  # fmt: skip

    async def update_group(
        self, q: Queryable, group_id: str, display_name: str, external_id: str | None, now_ms: int
    ) -> None:
        await q.execute(
            "UPDATE scim_groups SET display_name = ?, external_id = ?, updated_ts = ?"
            " WHERE group_id = ?",
            display_name, external_id, now_ms, group_id,
        )  # fmt: skip

    async def delete_group(self, q: Queryable, group_id: str) -> bool:
        # Children first: PostgreSQL cascades, but SQLite only with foreign_keys on.
        await q.execute("DELETE FROM scim_group_members WHERE group_id = ?", group_id)
        await q.execute("DELETE FROM scim_group_rooms WHERE group_id = ?", group_id)
        return await q.execute("DELETE FROM scim_groups WHERE group_id = ?", group_id) > 0

    async def get_group(self, q: Queryable, group_id: str) -> ScimGroupRow | None:
        row = await q.fetch_one(f"{_GROUP_SELECT} WHERE group_id = ?", group_id)
        return None if row is None else _group(row)

    async def list_groups(self, q: Queryable) -> list[ScimGroupRow]:
        rows = await q.fetch_all(f"{_GROUP_SELECT} ORDER BY created_ts, group_id")
        return [_group(r) for r in rows]

    async def find_group_by_name(self, q: Queryable, display_name: str) -> ScimGroupRow | None:
        row = await q.fetch_one(f"{_GROUP_SELECT} WHERE display_name = ?", display_name)
        return None if row is None else _group(row)

    async def group_members(self, q: Queryable, group_id: str) -> list[GroupMember]:
        rows = await q.fetch_all(
            "SELECT user_id, display FROM scim_group_members WHERE group_id = ? ORDER BY user_id",
            group_id,
        )
        return [GroupMember(r[0], r[1]) for r in rows]

    async def add_members(
        self, q: Queryable, group_id: str, members: Sequence[GroupMember]
    ) -> None:
        """Add members (a member already there gets the new `display`)."""
        await q.execute_many(
            "INSERT INTO scim_group_members (group_id, user_id, display) VALUES (?, ?, ?)"
            " ON CONFLICT (group_id, user_id) DO UPDATE SET display = excluded.display",
            [(group_id, m.user_id, m.display) for m in members],
        )

    async def remove_members(self, q: Queryable, group_id: str, user_ids: Sequence[str]) -> None:
        await q.execute_many(
            "DELETE FROM scim_group_members WHERE group_id = ? AND user_id = ?",
            [(group_id, user_id) for user_id in user_ids],
        )

    async def is_member(self, q: Queryable, group_id: str, user_id: str) -> bool:
        found = await q.fetch_val(
            "SELECT 1 FROM scim_group_members WHERE group_id = ? AND user_id = ?",
            group_id, user_id,
        )  # fmt: skip
        return found is not None

    async def groups_of_user(self, q: Queryable, user_id: str) -> list[str]:
        rows = await q.fetch_all(
            "SELECT group_id FROM scim_group_members WHERE user_id = ? ORDER BY group_id", user_id
        )
        return [r[0] for r in rows]

    async def group_rooms(self, q: Queryable, group_id: str) -> list[str]:
        rows = await q.fetch_all(
            "SELECT room_id FROM scim_group_rooms WHERE group_id = ? ORDER BY room_id", group_id
        )
        return [r[0] for r in rows]

    async def set_group_rooms(self, q: Queryable, group_id: str, room_ids: Sequence[str]) -> None:
        await q.execute("DELETE FROM scim_group_rooms WHERE group_id = ?", group_id)
        await q.execute_many(
            "INSERT INTO scim_group_rooms (group_id, room_id) VALUES (?, ?)",
            [(group_id, room_id) for room_id in room_ids],
        )
