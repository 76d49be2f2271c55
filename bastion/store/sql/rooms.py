"""SQL for rooms (`rooms`) and their aliases (`room_aliases`)."""

from __future__ import annotations

from bastion.store.database import Queryable
from bastion.store.records import RoomRecord


class SqlRoomStore:
    """Rooms, the position of their newest event, and aliases."""

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
        row = await q.fetch_one(
            "SELECT room_id, room_version, creator, is_public, last_event_id, depth"
            " FROM rooms WHERE room_id = ?",
            room_id,
        )
        if row is None:
            return None
        return RoomRecord(
            room_id=row[0],
            room_version=row[1],
            creator=row[2],
            is_public=bool(row[3]),
            last_event_id=row[4],
            depth=row[5],
        )

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
