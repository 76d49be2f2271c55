"""How much of the database each room takes: Synapse's
`GET /_synapse/admin/v1/statistics/database/rooms` ("the 10 largest rooms and an estimate of how
much space in the database they are taking ... This does not include the size of any associated
media"), and the console's storage page, so an admin sees where the space goes before purging a
room's history (retention/history_purge.py).

The estimate is the bytes of the room's stored events (store/sql/room_sizes.py): on PostgreSQL
their stored, compressed size; on SQLite their JSON's length. Synapse answers an error on
SQLite; Bastion answers on both.
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.services.principal import Principal
from bastion.store.database import Database
from bastion.store.protocols.room_admin import RoomSizeStore

LARGEST = 10  # Synapse's fixed count


@dataclass(frozen=True, slots=True)
class RoomSize:
    """One room and the bytes its events take (an estimate)."""

    room_id: str
    estimated_size: int


class RoomSizes:
    """The largest rooms, for admins."""

    def __init__(self, db: Database, store: RoomSizeStore) -> None:
        self._db, self._store = db, store

    async def largest(self, actor: Principal, limit: int = LARGEST) -> list[RoomSize]:
        """The `limit` largest rooms, largest first."""
        actor.require_admin()
        rows = await self._store.largest_rooms(self._db, limit)
        return [RoomSize(room_id, size) for room_id, size in rows]
