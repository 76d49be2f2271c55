"""SQL for presence (`presence`): rows, the /sync delivery query, the expiry sweep.

The delivery query starts from the presence rows changed in the token window (index on
`stream_id`) and keeps those of users who share a joined room with the viewer (primary-key probes
of `memberships`), so its cost follows what changed, not how many rooms the viewer is in. It is
kept simple on purpose: PostgreSQL then settles on one generic plan for it (0.1 ms), where a
UNION with a second branch kept it re-planning on every call (1 ms). The live presence of the
members of rooms the viewer just joined is a separate query, run only after such a join.
"""

from __future__ import annotations

from collections.abc import Sequence

from bastion.store.database import Queryable, Row
from bastion.store.protocols.presence import ExpiryCutoffs, PresenceRecord
from bastion.store.sql.events import placeholders

_COLUMNS = (
    "p.user_id, p.state, p.status_msg, p.last_active_ts, p.currently_active, p.last_sync_ts,"
    " p.stream_id"
)
# Bound on an IN list, well under every backend's parameter limit.
_CHUNK = 500


class SqlPresenceStore:
    """One presence row per user."""

    async def get_presence(self, q: Queryable, user_id: str) -> PresenceRecord | None:
        row = await q.fetch_one(f"SELECT {_COLUMNS} FROM presence p WHERE p.user_id = ?", user_id)
        return None if row is None else _record(row)

    async def put_presence(self, q: Queryable, records: Sequence[PresenceRecord]) -> None:
        """Insert or replace whole rows (a change others see: each carries a new position)."""
        await q.execute_many(
            "INSERT INTO presence (user_id, state, status_msg, last_active_ts, currently_active,"
            " last_sync_ts, stream_id) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE"
            " SET state = excluded.state, status_msg = excluded.status_msg,"
            " last_active_ts = CASE WHEN presence.last_active_ts > excluded.last_active_ts"
            " THEN presence.last_active_ts ELSE excluded.last_active_ts END,"
            " currently_active = excluded.currently_active,"
            " last_sync_ts = CASE WHEN presence.last_sync_ts > excluded.last_sync_ts"
            " THEN presence.last_sync_ts ELSE excluded.last_sync_ts END,"
            " stream_id = excluded.stream_id",
            [
                (r.user_id, r.state, r.status_msg, r.last_active_ts, int(r.currently_active),
                 r.last_sync_ts, r.stream_id)
                for r in records
            ],
        )  # fmt: skip

    async def touch_presence(self, q: Queryable, records: Sequence[PresenceRecord]) -> None:
        """Refresh only the activity timestamps (no new position: nothing visible changed).
        Timestamps never move backwards, here or in `put_presence`: another process may have
        stored newer activity than the writer knew."""
        await q.execute_many(
            "UPDATE presence SET"
            " last_active_ts = CASE WHEN last_active_ts > ? THEN last_active_ts ELSE ? END,"
            " last_sync_ts = CASE WHEN last_sync_ts > ? THEN last_sync_ts ELSE ? END"
            " WHERE user_id = ?",
            [
                (r.last_active_ts, r.last_active_ts, r.last_sync_ts, r.last_sync_ts, r.user_id)
                for r in records
            ],
        )

    async def changed_for_viewer(
        self, q: Queryable, viewer: str, *, after: int, upto: int, limit: int
    ) -> list[PresenceRecord]:
        """Newest first: presence changed in (after, upto] of the viewer and of users sharing a
        joined room with them."""
        rows = await q.fetch_all(
            f"SELECT {_COLUMNS} FROM presence p WHERE p.stream_id > ? AND p.stream_id <= ?"
            " AND (p.user_id = ? OR EXISTS (SELECT 1 FROM memberships theirs"
            " JOIN memberships mine ON mine.room_id = theirs.room_id"
            " WHERE theirs.user_id = p.user_id AND theirs.membership = 'join'"
            " AND mine.user_id = ? AND mine.membership = 'join'))"
            " ORDER BY p.stream_id DESC LIMIT ?",
            after, upto, viewer, viewer, limit,
        )  # fmt: skip
        return [_record(row) for row in rows]

    async def changed_between(
        self, q: Queryable, *, after: int, upto: int, limit: int
    ) -> list[PresenceRecord]:
        """Oldest first: everyone's presence changed in (after, upto] (application services'
        transactions; the same index as the /sync query)."""
        rows = await q.fetch_all(
            f"SELECT {_COLUMNS} FROM presence p WHERE p.stream_id > ? AND p.stream_id <= ?"
            " ORDER BY p.stream_id LIMIT ?",
            after,
            upto,
            limit,
        )
        return [_record(row) for row in rows]

    async def live_in_rooms(
        self, q: Queryable, room_ids: Sequence[str], *, limit: int
    ) -> list[PresenceRecord]:
        """Newest first: the presence of the joined members of these rooms who are not offline
        (for a viewer who just joined them)."""
        if not room_ids:
            return []
        rows = await q.fetch_all(
            f"SELECT {_COLUMNS} FROM presence p WHERE p.state <> 'offline' AND p.user_id IN"
            " (SELECT user_id FROM memberships WHERE membership = 'join'"
            f" AND room_id IN ({placeholders(len(room_ids))}))"
            " ORDER BY p.stream_id DESC LIMIT ?",
            *room_ids,
            limit,
        )
        return [_record(row) for row in rows]

    async def current_for_viewer(
        self, q: Queryable, viewer: str, *, limit: int
    ) -> list[PresenceRecord]:
        """Newest first (initial sync): the viewer's presence and the live presence of everyone
        sharing a joined room with them."""
        rows = await q.fetch_all(
            f"SELECT {_COLUMNS} FROM presence p WHERE p.user_id = ?"
            f" UNION SELECT {_COLUMNS} FROM memberships mine"
            " JOIN memberships theirs ON theirs.room_id = mine.room_id"
            " AND theirs.membership = 'join'"
            " JOIN presence p ON p.user_id = theirs.user_id AND p.state <> 'offline'"
            " WHERE mine.user_id = ? AND mine.membership = 'join'"
            " ORDER BY stream_id DESC LIMIT ?",
            viewer,
            viewer,
            limit,
        )
        return [_record(row) for row in rows]

    async def expiry_candidates(self, q: Queryable, cutoffs: ExpiryCutoffs) -> list[PresenceRecord]:
        """Rows that may have timed out (a superset: the caller applies the exact rules)."""
        rows = await q.fetch_all(
            f"SELECT {_COLUMNS} FROM presence p"
            " WHERE p.state = 'online' AND p.last_active_ts < ?"
            f" UNION SELECT {_COLUMNS} FROM presence p WHERE p.state <> 'offline'"
            " AND p.last_sync_ts < ? AND p.last_active_ts < ? LIMIT ?",
            cutoffs.online_active_before,
            cutoffs.live_seen_before,
            cutoffs.live_seen_before,
            cutoffs.limit,
        )
        return [_record(row) for row in rows]

    async def shares_room(self, q: Queryable, user_id: str, other: str) -> bool:
        """True if both are joined to at least one common room."""
        row = await q.fetch_one(
            "SELECT 1 FROM memberships mine JOIN memberships theirs"
            " ON theirs.room_id = mine.room_id AND theirs.user_id = ?"
            " AND theirs.membership = 'join'"
            " WHERE mine.user_id = ? AND mine.membership = 'join' LIMIT 1",
            other,
            user_id,
        )
        return row is not None

    async def users_sharing_rooms_with(self, q: Queryable, user_ids: Sequence[str]) -> set[str]:
        """Everyone joined to a room that one of `user_ids` is joined to (themselves included)."""
        found: set[str] = set()
        for start in range(0, len(user_ids), _CHUNK):
            chunk = user_ids[start : start + _CHUNK]
            # Rooms first, then their members: a join of each user with each room's members
            # would repeat a large room's member list once per changed member.
            rows = await q.fetch_all(
                "SELECT DISTINCT user_id FROM memberships WHERE membership = 'join'"
                " AND room_id IN (SELECT room_id FROM memberships"
                f" WHERE user_id IN ({placeholders(len(chunk))}) AND membership = 'join')",
                *chunk,
            )
            found.update(row[0] for row in rows)
        return found


def _record(row: Row) -> PresenceRecord:
    return PresenceRecord(
        user_id=row[0],
        state=row[1],
        status_msg=row[2],
        last_active_ts=int(row[3]),
        currently_active=bool(row[4]),
        last_sync_ts=int(row[5]),
        stream_id=int(row[6]),
    )
