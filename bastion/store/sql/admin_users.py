"""SQL for the admin's account lists (`users` with `profiles` and `devices`) and uploads.

Order columns come from the fixed maps below, keyed by the allow-lists in the protocol module;
every value from a request is a bound parameter. Substring filters escape `%`, `_` and `\\`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from bastion.store.database import Queryable, Row
from bastion.store.protocols.admin_users import (
    MediaListQuery,
    MemberEventSent,
    UserListQuery,
    UserListRow,
    UserMediaRow,
)
from bastion.store.sql.like import contains

_LOCKED = "(u.admin_locked = 1 OR u.locked_until_ts > ?)"
_LAST_SEEN = "(SELECT MAX(d.last_seen_ts) FROM devices d WHERE d.user_id = u.user_id)"

# Columns we do not have (guests, user types) sort as a constant: by name.
_USER_ORDER_SQL = {
    "name": "u.user_id",
    "displayname": "COALESCE(p.displayname, '')",
    "is_guest": "0",
    "admin": "u.is_admin",
    "deactivated": "u.is_deactivated",
    "user_type": "0",
    "avatar_url": "COALESCE(p.avatar_url, '')",
    "shadow_banned": "u.shadow_banned",
    "creation_ts": "u.created_ts",
    "last_seen_ts": f"COALESCE({_LAST_SEEN}, 0)",
    "locked": "locked",
}

_MEDIA_ORDER_SQL = {
    "media_id": "media_id",
    "upload_name": "COALESCE(upload_name, '')",
    "created_ts": "created_ts",
    "last_access_ts": "COALESCE(last_access_ts, 0)",
    "media_length": "COALESCE(size, 0)",
    "media_type": "COALESCE(content_type, '')",
    "quarantined_by": "COALESCE(quarantined_by, '')",
    "safe_from_quarantine": "safe_from_quarantine",
}


def _user_filters(query: UserListQuery, now_ms: int) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if query.name is not None:
        clauses.append(
            "(LOWER(u.user_id) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(p.displayname, ''))"
            " LIKE ? ESCAPE '\\')"
        )
        args += [contains(query.name.lower()), contains(query.name.lower())]
    elif query.user_id is not None:
        clauses.append("LOWER(u.user_id) LIKE ? ESCAPE '\\'")
        args.append(contains(query.user_id.lower()))
    for column, wanted in (("u.is_deactivated", query.deactivated), ("u.is_admin", query.admins)):
        if wanted is not None:
            clauses.append(f"{column} = ?")
            args.append(int(wanted))
    if query.locked is not None:
        clauses.append(_LOCKED if query.locked else f"NOT {_LOCKED}")
        args.append(now_ms)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def _user_row(row: Row) -> UserListRow:
    return UserListRow(
        user_id=row["user_id"],
        is_admin=bool(row["is_admin"]),
        is_deactivated=bool(row["is_deactivated"]),
        is_locked=bool(row["locked"]),
        displayname=row["displayname"],
        avatar_url=row["avatar_url"],
        created_ts=row["created_ts"],
        last_seen_ts=row["last_seen_ts"],
        shadow_banned=bool(row["shadow_banned"]),
    )


class SqlUserAdminStore:
    """The admin API's queries over accounts and uploads."""

    async def list_users(
        self, q: Queryable, query: UserListQuery, now_ms: int
    ) -> tuple[list[UserListRow], int]:
        where, args = _user_filters(query, now_ms)
        base = " FROM users u LEFT JOIN profiles p ON p.user_id = u.user_id" + where
        total: int = await q.fetch_val("SELECT COUNT(*)" + base, *args)
        direction = "DESC" if query.backwards else "ASC"
        order = _USER_ORDER_SQL[query.order_by]
        rows = await q.fetch_all(
            "SELECT u.user_id, u.is_admin, u.is_deactivated, u.created_ts, u.shadow_banned,"
            " p.displayname,"
            f" p.avatar_url, CASE WHEN {_LOCKED} THEN 1 ELSE 0 END AS locked,"
            f" {_LAST_SEEN} AS last_seen_ts" + base + f" ORDER BY {order} {direction},"
            " u.user_id ASC LIMIT ? OFFSET ?",
            now_ms,
            *args,
            query.limit,
            query.start,
        )
        return [_user_row(row) for row in rows], total

    async def last_seen(self, q: Queryable, user_id: str) -> int | None:
        value: int | None = await q.fetch_val(
            "SELECT MAX(last_seen_ts) FROM devices WHERE user_id = ?", user_id
        )
        return value

    async def set_admin(self, q: Queryable, user_id: str, is_admin: bool) -> None:
        await q.execute("UPDATE users SET is_admin = ? WHERE user_id = ?", int(is_admin), user_id)

    async def ratelimit_of(self, q: Queryable, user_id: str) -> tuple[int, int] | None:
        row = await q.fetch_one(
            "SELECT ratelimit_per_second, ratelimit_burst FROM users WHERE user_id = ?", user_id
        )
        if row is None or row[0] is None:
            return None
        return int(row[0]), int(row[1] or 0)

    async def set_ratelimit(
        self, q: Queryable, user_id: str, override: tuple[int, int] | None
    ) -> None:
        per_second, burst = override if override is not None else (None, None)
        await q.execute(
            "UPDATE users SET ratelimit_per_second = ?, ratelimit_burst = ? WHERE user_id = ?",
            per_second, burst, user_id,
        )  # fmt: skip

    async def set_shadow_banned(self, q: Queryable, user_id: str, banned: bool) -> None:
        await q.execute(
            "UPDATE users SET shadow_banned = ? WHERE user_id = ?", int(banned), user_id
        )

    async def reactivate(self, q: Queryable, user_id: str) -> None:
        await q.execute(
            "UPDATE users SET is_deactivated = 0, failed_logins = 0, locked_until_ts = 0"
            " WHERE user_id = ?",
            user_id,
        )

    async def joined_rooms(self, q: Queryable, user_id: str) -> list[str]:
        rows = await q.fetch_all(
            "SELECT room_id FROM memberships WHERE user_id = ? AND membership = 'join'"
            " ORDER BY room_id",
            user_id,
        )
        return [row["room_id"] for row in rows]

    async def member_events_sent(
        self, q: Queryable, user_id: str, from_ts: int
    ) -> list[MemberEventSent]:
        """Every member event `user_id` sent at or after `from_ts`, oldest first (by the sender
        index; the memberships read from the event and the content it replaced)."""
        rows = await q.fetch_all(
            "SELECT room_id, state_key, pdu, prev_content FROM events WHERE sender = ?"
            " AND type = 'm.room.member' AND origin_server_ts >= ? ORDER BY stream_ordering",
            user_id, from_ts,
        )  # fmt: skip
        found = []
        for row in rows:
            membership = _membership(msgspec.json.decode(row[2]).get("content"))
            if membership is not None:
                before = _membership(msgspec.json.decode(row[3])) if row[3] else None
                found.append(MemberEventSent(str(row[0]), str(row[1]), membership, before))
        return found

    async def memberships(self, q: Queryable, user_id: str) -> dict[str, str]:
        rows = await q.fetch_all(
            "SELECT room_id, membership FROM memberships WHERE user_id = ? ORDER BY room_id",
            user_id,
        )
        return {row["room_id"]: row["membership"] for row in rows}

    async def list_media(
        self, q: Queryable, user_id: str, query: MediaListQuery
    ) -> tuple[list[UserMediaRow], int]:
        base = " FROM media WHERE user_id = ? AND uploaded_ts IS NOT NULL"
        total: int = await q.fetch_val("SELECT COUNT(*)" + base, user_id)
        direction = "DESC" if query.backwards else "ASC"
        rows = await q.fetch_all(
            "SELECT media_id, created_ts, size, content_type, upload_name, quarantined_by,"
            " last_access_ts, safe_from_quarantine" + base
            + f" ORDER BY {_MEDIA_ORDER_SQL[query.order_by]} {direction}, media_id ASC"
            " LIMIT ? OFFSET ?",
            user_id,
            query.limit,
            query.start,
        )  # fmt: skip
        return [
            UserMediaRow(
                media_id=row["media_id"],
                created_ts=row["created_ts"],
                media_length=row["size"],
                media_type=row["content_type"],
                upload_name=row["upload_name"],
                quarantined_by=row["quarantined_by"],
                last_access_ts=row["last_access_ts"],
                safe_from_quarantine=bool(row["safe_from_quarantine"]),
            )
            for row in rows
        ], total


def _membership(content: object) -> str | None:
    membership = content.get("membership") if isinstance(content, dict) else None
    return membership if isinstance(membership, str) else None
