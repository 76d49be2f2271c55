"""SQL for rooms (`rooms`) and their aliases (`room_aliases`)."""

from __future__ import annotations

from collections.abc import Sequence

from bastion.store.database import Queryable, Row
from bastion.store.records import RoomRecord

_ROOM_COLUMNS = "room_id, room_version, creator, is_public, last_event_id, depth"


class SqlRoomStore:
    """Rooms, the position of their newest event, and aliases.

    With `row_locks` (PostgreSQL), `lock_room` takes the room's row lock (`FOR UPDATE`) until the
    transaction ends, so writers to one room in different processes queue there, and what they
    read after it (the room's end, its current state) is what the last of them committed. SQLite
    needs none: one writer at a time holds the whole database.
    """

    def __init__(self, *, row_locks: bool = False) -> None:
        self._lock_clause = " FOR UPDATE" if row_locks else ""

    async def insert_room(self, q: Queryable, room: RoomRecord, *, now_ms: int) -> bool:
        """Insert the room unless its ID is taken (False). A concurrent writer of the same ID
        makes PostgreSQL wait for its commit, then report the ID taken: never an error."""
        inserted = await q.execute(
            "INSERT INTO rooms (room_id, room_version, creator, is_public, created_ts,"
            " last_event_id, depth) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (room_id) DO NOTHING",
            room.room_id,
            room.room_version,
            room.creator,
            int(room.is_public),
            now_ms,
            room.last_event_id,
            room.depth,
        )
        return inserted == 1

    async def get_room(self, q: Queryable, room_id: str) -> RoomRecord | None:
        row = await q.fetch_one(f"SELECT {_ROOM_COLUMNS} FROM rooms WHERE room_id = ?", room_id)
        return None if row is None else _room(row)

    async def room_versions(self, q: Queryable, room_ids: Sequence[str]) -> dict[str, str]:
        """room_id -> room version of those that exist: one query per 500 rooms."""
        unique = list(dict.fromkeys(room_ids))
        found: dict[str, str] = {}
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            rows = await q.fetch_all(
                "SELECT room_id, room_version FROM rooms"
                f" WHERE room_id IN ({', '.join('?' * len(chunk))})",
                *chunk,
            )
            found |= {row[0]: row[1] for row in rows}
        return found

    async def lock_room(self, q: Queryable, room_id: str) -> tuple[RoomRecord, int] | None:
        """The room and the stream position of its newest event, its row locked (see above).

        The position comes in the same statement; when the lock was waited for, PostgreSQL
        re-reads the row but not the subquery's snapshot, which then misses the newest event
        (NULL): a second statement, run after the lock, reads it.
        """
        row = await q.fetch_one(
            f"SELECT {_ROOM_COLUMNS}, (SELECT stream_ordering FROM events"
            f" WHERE event_id = rooms.last_event_id) FROM rooms WHERE room_id = ?"
            f"{self._lock_clause}",
            room_id,
        )
        if row is None:
            return None
        position = row[6]
        if position is None:
            position = await q.fetch_val(
                "SELECT stream_ordering FROM events WHERE event_id = ?", row[4]
            )
        return _room(row), int(position or 0)

    async def advance(
        self, q: Queryable, room_id: str, *, expected_last: str, new_last: str, depth: int
    ) -> bool:
        """Move the room's end to `new_last` if nobody else moved it first (compare-and-set)."""
        changed = await q.execute(
            "UPDATE rooms SET last_event_id = ?, depth = ? WHERE room_id = ? AND last_event_id = ?",
            new_last,
            depth,
            room_id,
            expected_last,
        )
        return changed == 1

    async def set_public(self, q: Queryable, room_id: str, *, is_public: bool) -> None:
        await q.execute("UPDATE rooms SET is_public = ? WHERE room_id = ?", int(is_public), room_id)

    async def insert_alias(
        self, q: Queryable, alias: str, room_id: str, creator: str, now_ms: int
    ) -> bool:
        """Insert the alias unless it is taken (False)."""
        inserted = await q.execute(
            "INSERT INTO room_aliases (alias, room_id, creator, created_ts) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (alias) DO NOTHING",
            alias,
            room_id,
            creator,
            now_ms,
        )
        return inserted == 1

    async def get_alias(self, q: Queryable, alias: str) -> tuple[str, str] | None:
        """(room_id, creator) of an alias."""
        row = await q.fetch_one("SELECT room_id, creator FROM room_aliases WHERE alias = ?", alias)
        return None if row is None else (row[0], row[1])

    async def delete_alias(self, q: Queryable, alias: str) -> None:
        await q.execute("DELETE FROM room_aliases WHERE alias = ?", alias)

    async def aliases_of_room(self, q: Queryable, room_id: str) -> list[str]:
        rows = await q.fetch_all(
            "SELECT alias FROM room_aliases WHERE room_id = ? ORDER BY alias", room_id
        )
        return [row[0] for row in rows]


def _room(row: Row) -> RoomRecord:
    return RoomRecord(
        room_id=row[0],
        room_version=row[1],
        creator=row[2],
        is_public=bool(row[3]),
        last_event_id=row[4],
        depth=row[5],
    )
