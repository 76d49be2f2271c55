"""A user's direct chats (`m.direct` account data) follow an upgraded room: when a local user
joins a room that replaced another (rooms/upgrade_settings.py calls `follow_room`), the new room
is added wherever their `m.direct` lists the old one, so a DM upgraded to a newer room version
is still a DM in their client (Synapse does the same). The old room stays listed: clients hide
a tombstoned room themselves, and its history is still that conversation.

Server-managed write (`put_server_managed`): a new stream position, the user's clients woken.
"""

from __future__ import annotations

from typing import Any, Protocol

from bastion.store.database import Database
from bastion.store.protocols import AccountDataStore

DIRECT = "m.direct"


class AccountDataWriter(Protocol):
    """Writes a user's account data as the server (services/account_data.py)."""

    async def put_server_managed(
        self, user_id: str, room_id: str, data_type: str, content: dict[str, Any]
    ) -> None: ...


class DirectRooms:
    """Keeps `m.direct` pointing at the current room of an upgraded DM."""

    def __init__(self, db: Database, store: AccountDataStore, writer: AccountDataWriter) -> None:
        self._db = db
        self._store = store
        self._writer = writer

    async def follow_room(self, user_id: str, old_room: str, new_room: str) -> None:
        """Add `new_room` next to `old_room` in every list of the user's `m.direct`."""
        content = await self._store.get(self._db, user_id, "", DIRECT)
        if not content:
            return
        updated: dict[str, Any] = {}
        for other, rooms in content.items():
            follows = isinstance(rooms, list) and old_room in rooms and new_room not in rooms
            updated[other] = [*rooms, new_room] if follows else rooms
        if updated != content:
            await self._writer.put_server_managed(user_id, "", DIRECT, updated)
