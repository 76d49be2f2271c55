"""Server notices rooms store (see migrations/0017_create_server_notice_rooms.sql).

See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from typing import Protocol

from bastion.store.database import Queryable


class ServerNoticeRoomStore(Protocol):
    """Which room is each user's server notices room."""

    async def get_room(self, q: Queryable, user_id: str) -> str | None: ...
    async def set_room(self, q: Queryable, user_id: str, room_id: str, now_ms: int) -> None: ...
    async def is_notice_room(self, q: Queryable, room_id: str) -> bool: ...
