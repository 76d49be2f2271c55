"""SQL for legal holds, the hold store of redacted originals, and user roles.

`not_held(room, sender)` is THE clause every destructive query carries (the retention purge,
redacted-content pruning, offboarding's erase): an event is covered while an active hold (not
released) names its room or its sender. Writing it once keeps the queries from drifting apart.
"""

from __future__ import annotations

from collections.abc import Sequence

from bastion.store.database import Queryable, Row
from bastion.store.protocols.compliance import HoldRow


def is_held(room: str, sender: str) -> str:
    """SQL true when an active hold covers an event of room `room` sent by `sender` (columns)."""
    return (
        "(EXISTS (SELECT 1 FROM legal_hold_rooms hr JOIN legal_holds hh"
        f" ON hh.hold_id = hr.hold_id WHERE hr.room_id = {room} AND hh.released_ts IS NULL)"
        " OR EXISTS (SELECT 1 FROM legal_hold_users hu JOIN legal_holds hh"
        f" ON hh.hold_id = hu.hold_id WHERE hu.user_id = {sender} AND hh.released_ts IS NULL))"
    )


def not_held(room: str, sender: str) -> str:
    """SQL true when no active hold covers the event (append with AND to a destructive query)."""
    return f"NOT {is_held(room, sender)}"


_HELD_COLUMNS = "event_id, room_id, sender, redacted_by, held_ts, pdu"
_COLUMNS = "hold_id, case_name, reason, created_by, created_ts, released_by, released_ts"


class SqlHoldStore:
    """Holds keyed by a time-ordered ID; members in two tables."""

    async def insert_hold(self, q: Queryable, hold: HoldRow) -> None:
        await q.execute(
            f"INSERT INTO legal_holds ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL, NULL)",
            hold.hold_id, hold.case, hold.reason, hold.created_by, hold.created_ts,
        )  # fmt: skip
        if hold.users:
            await q.execute_many(
                "INSERT INTO legal_hold_users (hold_id, user_id) VALUES (?, ?)",
                [(hold.hold_id, user) for user in hold.users],
            )
        if hold.rooms:
            await q.execute_many(
                "INSERT INTO legal_hold_rooms (hold_id, room_id) VALUES (?, ?)",
                [(hold.hold_id, room) for room in hold.rooms],
            )

    async def get_hold(self, q: Queryable, hold_id: str) -> HoldRow | None:
        row = await q.fetch_one(f"SELECT {_COLUMNS} FROM legal_holds WHERE hold_id = ?", hold_id)
        return None if row is None else (await self._with_members(q, [row]))[0]

    async def list_holds(self, q: Queryable, *, after: str, limit: int) -> list[HoldRow]:
        rows = await q.fetch_all(
            f"SELECT {_COLUMNS} FROM legal_holds WHERE hold_id > ? ORDER BY hold_id LIMIT ?",
            after,
            limit,
        )
        return await self._with_members(q, rows)

    async def release_hold(self, q: Queryable, hold_id: str, by: str, now_ms: int) -> bool:
        changed = await q.execute(
            "UPDATE legal_holds SET released_by = ?, released_ts = ?"
            " WHERE hold_id = ? AND released_ts IS NULL",
            by, now_ms, hold_id,
        )  # fmt: skip
        return changed > 0

    async def keep_held_originals(self, q: Queryable, now_ms: int) -> int:
        """Copy every redacted original an active hold covers into the hold store."""
        return await q.execute(
            f"INSERT INTO held_event_originals ({_HELD_COLUMNS})"
            " SELECT r.event_id, r.room_id, e.sender, r.redacted_by, ?, r.pdu"
            " FROM redacted_event_originals r JOIN events e ON e.event_id = r.event_id"
            f" WHERE {is_held('r.room_id', 'e.sender')} ON CONFLICT (event_id) DO NOTHING",
            now_ms,
        )

    async def keep_original_of(
        self, q: Queryable, event_id: str, redacted_by: str, now_ms: int
    ) -> None:
        """Before a redaction takes effect: copy its target's original if a hold covers it."""
        await q.execute(
            f"INSERT INTO held_event_originals ({_HELD_COLUMNS})"
            " SELECT e.event_id, e.room_id, e.sender, ?, ?, e.pdu FROM events e"
            " WHERE e.event_id = ? AND e.redacted_by IS NULL"
            f" AND {is_held('e.room_id', 'e.sender')} ON CONFLICT (event_id) DO NOTHING",
            redacted_by, now_ms, event_id,
        )  # fmt: skip

    async def held_among(self, q: Queryable, event_ids: Sequence[str]) -> set[str]:
        """The IDs, among `event_ids`, of events an active hold covers."""
        if not event_ids:
            return set()
        marks = ", ".join("?" * len(event_ids))
        rows = await q.fetch_all(
            f"SELECT e.event_id FROM events e WHERE e.event_id IN ({marks})"
            f" AND {is_held('e.room_id', 'e.sender')}",
            *event_ids,
        )
        return {row[0] for row in rows}

    async def drop_unheld_originals(self, q: Queryable) -> int:
        """After a release: drop the hold store's copies no active hold covers any more."""
        return await q.execute(
            "DELETE FROM held_event_originals"
            " WHERE " + not_held("held_event_originals.room_id", "held_event_originals.sender")
        )

    async def _with_members(self, q: Queryable, rows: Sequence[Row]) -> list[HoldRow]:
        holds: list[HoldRow] = []
        for row in rows:
            users = await q.fetch_all(
                "SELECT user_id FROM legal_hold_users WHERE hold_id = ? ORDER BY user_id", row[0]
            )
            rooms = await q.fetch_all(
                "SELECT room_id FROM legal_hold_rooms WHERE hold_id = ? ORDER BY room_id", row[0]
            )
            holds.append(
                HoldRow(
                    hold_id=row[0],
                    case=row[1],
                    reason=row[2],
                    created_by=row[3],
                    created_ts=int(row[4]),
                    released_by=row[5],
                    released_ts=None if row[6] is None else int(row[6]),
                    users=[u[0] for u in users],
                    rooms=[r[0] for r in rooms],
                )
            )
        return holds


class SqlRoleStore:
    """Roles as rows (user, role)."""

    async def roles_of(self, q: Queryable, user_id: str) -> list[str]:
        rows = await q.fetch_all(
            "SELECT role FROM user_roles WHERE user_id = ? ORDER BY role", user_id
        )
        return [row[0] for row in rows]

    async def set_roles(
        self, q: Queryable, user_id: str, roles: Sequence[str], by: str, now_ms: int
    ) -> None:
        """Replace the user's roles with `roles`."""
        await q.execute("DELETE FROM user_roles WHERE user_id = ?", user_id)
        if roles:
            await q.execute_many(
                "INSERT INTO user_roles (user_id, role, granted_by, granted_ts)"
                " VALUES (?, ?, ?, ?)",
                [(user_id, role, by, now_ms) for role in roles],
            )
