"""SQL estimating how much of the database each room takes (Synapse's "largest rooms"
statistic): the bytes of its stored events, the bulk of a room's rows.

PostgreSQL: `pg_column_size`, the stored (possibly compressed) size, read from the row's
header or TOAST pointer without decompressing the event. SQLite has no such function: the
length in bytes of the event's JSON text. Either way one scan of the events table, grouped by
room: an admin's occasional question, not a hot path.
"""

from __future__ import annotations

from bastion.store.database import Queryable


class SqlRoomSizeStore:
    """PostgreSQL: stored sizes."""

    _SIZE = "pg_column_size(pdu)"

    async def largest_rooms(self, q: Queryable, limit: int) -> list[tuple[str, int]]:
        """(room ID, estimated bytes) of the `limit` largest rooms, largest first."""
        rows = await q.fetch_all(
            f"SELECT room_id, SUM({self._SIZE}) AS size FROM events"
            " GROUP BY room_id ORDER BY size DESC, room_id LIMIT ?",
            limit,
        )
        return [(str(row[0]), int(row[1])) for row in rows]


class SqliteRoomSizeStore(SqlRoomSizeStore):
    """SQLite: the JSON text's length in bytes."""

    _SIZE = "LENGTH(CAST(pdu AS BLOB))"


def room_size_store_for(dialect: str) -> SqlRoomSizeStore:
    """The room size store for the database's dialect."""
    return SqliteRoomSizeStore() if dialect == "sqlite" else SqlRoomSizeStore()
