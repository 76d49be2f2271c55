"""SQL for simplified sliding sync's per-room positions (protocols/sliding_sync_rooms.py).

`room_positions` walks each room's `events_by_room` index backwards from `upto` and stops at the
first event of a bump type: one index seek per room (rooms are chat rooms: the newest message
is close to the end), all rooms in one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from bastion.store.database import Queryable
from bastion.store.protocols.sliding_sync_rooms import RoomPositions
from bastion.store.sql.events import placeholders

_CHUNK = 500  # room IDs per statement (SQLite's default limit is 999 parameters)


class SqlSlidingRoomStore:
    """Bump stamps and activity of a user's rooms."""

    async def room_positions(
        self, q: Queryable, user_id: str, room_ids: Sequence[str], types: Sequence[str], upto: int
    ) -> dict[str, RoomPositions]:
        found: dict[str, RoomPositions] = {}
        unique = list(dict.fromkeys(room_ids))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            rows = await q.fetch_all(
                "SELECT m.room_id, m.membership, m.stream_ordering, (SELECT e.stream_ordering"
                " FROM events e WHERE e.room_id = m.room_id AND e.stream_ordering <= ?"
                f" AND e.type IN ({placeholders(len(types))})"
                " ORDER BY e.stream_ordering DESC LIMIT 1), (SELECT MAX(e.stream_ordering)"
                " FROM events e WHERE e.room_id = m.room_id AND e.stream_ordering <= ?)"
                " FROM memberships m WHERE m.user_id = ?"
                f" AND m.room_id IN ({placeholders(len(chunk))})",
                upto,
                *types,
                upto,
                user_id,
                *chunk,
            )
            for row in rows:
                joined_and_bumped = row[1] == "join" and row[3] is not None
                bump = int(row[3] if joined_and_bumped else row[2])
                found[row[0]] = RoomPositions(bump, int(row[4] or 0), row[1] == "join")
        return found

    async def rooms_with_activity(
        self, q: Queryable, user_id: str, *, after: int, upto: int
    ) -> dict[str, int]:
        # CROSS JOIN: SQLite then walks the window's events (primary key) and looks each
        # room up in the user's memberships, instead of seeking every room of the user.
        rows = await q.fetch_all(
            "SELECT e.room_id, MAX(e.stream_ordering) FROM events e CROSS JOIN memberships m"
            " WHERE m.room_id = e.room_id AND m.user_id = ?"
            " AND e.stream_ordering > ? AND e.stream_ordering <= ? GROUP BY e.room_id",
            user_id,
            after,
            upto,
        )
        return {row[0]: int(row[1]) for row in rows}

    async def own_receipts(
        self, q: Queryable, user_id: str, *, after: int, upto: int
    ) -> dict[str, int]:
        rows = await q.fetch_all(
            "SELECT room_id, MAX(stream_id) FROM receipts WHERE user_id = ? AND stream_id > ?"
            " AND stream_id <= ? GROUP BY room_id",
            user_id,
            after,
            upto,
        )
        return {row[0]: int(row[1]) for row in rows}

    async def room_members(
        self, q: Queryable, room_ids: Sequence[str]
    ) -> dict[str, list[tuple[str, str]]]:
        unique = list(dict.fromkeys(room_ids))
        found: dict[str, list[tuple[str, str]]] = {room_id: [] for room_id in unique}
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            rows = await q.fetch_all(
                "SELECT room_id, user_id, membership FROM memberships"
                f" WHERE room_id IN ({placeholders(len(chunk))}) ORDER BY stream_ordering",
                *chunk,
            )
            for row in rows:
                found[row[0]].append((row[1], row[2]))
        return found

    async def global_account_data(
        self, q: Queryable, user_id: str, data_type: str
    ) -> tuple[dict[str, Any], int] | None:
        row = await q.fetch_one(
            "SELECT content, stream_id FROM account_data"
            " WHERE user_id = ? AND room_id = '' AND type = ?",
            user_id,
            data_type,
        )
        if row is None:
            return None
        content = msgspec.json.decode(row[0])
        return (content if isinstance(content, dict) else {}), int(row[1])
