"""SQL for each user's current membership per room (`memberships`).

A denormalised copy of the member events in `current_state`, keyed by user, so "which rooms is
this user in" and "what changed for this user since position P" are single index lookups.
"""

from __future__ import annotations

from collections.abc import Sequence

from bastion.store.database import Queryable, Row
from bastion.store.records import MembershipRecord
from bastion.store.sql.events import placeholders

_COLUMNS = "user_id, room_id, membership, event_id, stream_ordering, forgotten"


class SqlMembershipStore:
    """Current memberships, by user and by room."""

    async def set_membership(
        self,
        q: Queryable,
        user_id: str,
        room_id: str,
        membership: str,
        event_id: str,
        position: int,
    ) -> None:
        """Record a membership change. A forgotten room stays forgotten through a leave or ban
        (an unban, a ban by someone else) and is remembered again by a join, invite or knock
        (spec: client-server-api#leaving-rooms)."""
        await q.execute(
            "INSERT INTO memberships (user_id, room_id, membership, event_id, stream_ordering)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, room_id) DO UPDATE SET"
            " membership = excluded.membership, event_id = excluded.event_id,"
            " stream_ordering = excluded.stream_ordering, forgotten = CASE"
            " WHEN excluded.membership IN ('leave', 'ban') THEN memberships.forgotten ELSE 0 END",
            user_id,
            room_id,
            membership,
            event_id,
            position,
        )

    async def get_membership(
        self, q: Queryable, user_id: str, room_id: str
    ) -> MembershipRecord | None:
        row = await q.fetch_one(
            f"SELECT {_COLUMNS} FROM memberships WHERE user_id = ? AND room_id = ?",
            user_id,
            room_id,
        )
        return None if row is None else _record(row)

    async def rooms_of_user(
        self, q: Queryable, user_id: str, memberships: Sequence[str]
    ) -> list[MembershipRecord]:
        rows = await q.fetch_all(
            f"SELECT {_COLUMNS} FROM memberships WHERE user_id = ? AND forgotten = 0"
            f" AND membership IN ({placeholders(len(memberships))}) ORDER BY stream_ordering",
            user_id,
            *memberships,
        )
        return [_record(row) for row in rows]

    async def changed_after(
        self, q: Queryable, user_id: str, *, after: int, upto: int
    ) -> list[MembershipRecord]:
        """The user's memberships whose latest change lies in (after, upto]."""
        rows = await q.fetch_all(
            f"SELECT {_COLUMNS} FROM memberships WHERE user_id = ? AND stream_ordering > ?"
            " AND stream_ordering <= ? ORDER BY stream_ordering",
            user_id,
            after,
            upto,
        )
        return [_record(row) for row in rows]

    async def members(self, q: Queryable, room_id: str, memberships: Sequence[str]) -> list[str]:
        rows = await q.fetch_all(
            f"SELECT user_id FROM memberships WHERE room_id = ?"
            f" AND membership IN ({placeholders(len(memberships))}) ORDER BY stream_ordering",
            room_id,
            *memberships,
        )
        return [row[0] for row in rows]

    async def member_counts(
        self, q: Queryable, room_ids: Sequence[str]
    ) -> dict[str, dict[str, int]]:
        """room_id -> membership -> count, for joined and invited members."""
        if not room_ids:
            return {}
        rows = await q.fetch_all(
            "SELECT room_id, membership, COUNT(*) FROM memberships"
            f" WHERE room_id IN ({placeholders(len(room_ids))})"
            " AND membership IN ('join', 'invite') GROUP BY room_id, membership",
            *room_ids,
        )
        counts: dict[str, dict[str, int]] = {}
        for row in rows:
            counts.setdefault(row[0], {})[row[1]] = int(row[2])
        return counts

    async def forget(self, q: Queryable, user_id: str, room_id: str) -> None:
        await q.execute(
            "UPDATE memberships SET forgotten = 1 WHERE user_id = ? AND room_id = ?",
            user_id,
            room_id,
        )


def _record(row: Row) -> MembershipRecord:
    return MembershipRecord(
        user_id=row["user_id"],
        room_id=row["room_id"],
        membership=row["membership"],
        event_id=row["event_id"],
        stream_ordering=row["stream_ordering"],
        forgotten=bool(row["forgotten"]),
    )
