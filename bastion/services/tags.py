"""Room tags (spec: client-server-api#room-tagging): the per-room account data `m.tag`.

Tags live in `{"tags": {tag: {"order": n}}}`, so they reach /sync (`rooms.join[id].account_data`)
and the room account-data endpoint like any other account data. Adding or removing one tag is a
read-modify-write of that entry; a per-user lock serialises a user's tag changes in this process
(the account-data row itself is replaced whole), so two devices tagging at once lose nothing.

Checks: only one's own tags (403); a tag name is at most 255 bytes of UTF-8 (400
M_INVALID_PARAM); `order`, when given, is a number in [0, 1] (400 M_BAD_JSON for another type,
M_INVALID_PARAM out of range); the whole entry obeys the account-data size limit (413).
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.json_types import JsonObject
from bastion.services.account_data import (
    MAX_ACCOUNT_DATA_BYTES,
    AccountDataService,
    require_self,
)
from bastion.services.keyed_locks import KeyedLocks
from bastion.services.principal import Requester
from bastion.store.database import Database
from bastion.store.protocols import AccountDataStore

TAG_TYPE = "m.tag"
MAX_TAG_BYTES = 255


class TagService:
    """Reads and changes a user's tags on a room."""

    def __init__(
        self, db: Database, store: AccountDataStore, account_data: AccountDataService
    ) -> None:
        self._db = db
        self._store = store
        self._account_data = account_data
        self._locks = KeyedLocks()

    async def tags(self, requester: Requester, user_id: str, room_id: str) -> JsonObject:
        """`{"tags": {...}}` of one room ({} when none)."""
        require_self(requester, user_id)
        _check_room_id(room_id)
        return {"tags": await self._current(user_id, room_id)}

    async def add(
        self, requester: Requester, user_id: str, room_id: str, tag: str, body: JsonObject
    ) -> None:
        """Set (or replace) one tag."""
        require_self(requester, user_id)
        _check_room_id(room_id)
        _check_tag(tag, body)
        await self._change(user_id, room_id, lambda tags: {**tags, tag: body})

    async def remove(self, requester: Requester, user_id: str, room_id: str, tag: str) -> None:
        """Remove one tag; removing one that is not set succeeds."""
        require_self(requester, user_id)
        _check_room_id(room_id)
        await self._change(
            user_id, room_id, lambda tags: {k: v for k, v in tags.items() if k != tag}
        )

    async def tag_for_server(self, user_id: str, room_id: str, tag: str) -> None:
        """The server sets one of a user's tags (the server notices room's `m.server_notice`)."""
        await self._change(user_id, room_id, lambda tags: {**tags, tag: {}})

    async def follow_room(self, user_id: str, old_room: str, new_room: str) -> None:
        """The user's tags of an upgraded room, on its replacement (unless it has its own):
        a favourite stays a favourite."""
        old_tags = await self._current(user_id, old_room)
        if old_tags:
            await self._change(user_id, new_room, lambda tags: tags or dict(old_tags))

    async def _current(self, user_id: str, room_id: str) -> JsonObject:
        content = await self._store.get(self._db, user_id, room_id, TAG_TYPE)
        tags = content.get("tags") if content is not None else None
        # Raw account data may have stored anything under m.tag; read only well-formed tags.
        if not isinstance(tags, dict):
            return {}
        return {k: v for k, v in tags.items() if isinstance(v, dict)}

    async def _change(
        self, user_id: str, room_id: str, change: Callable[[JsonObject], JsonObject]
    ) -> None:
        async with self._locks.lock(user_id):
            before = await self._current(user_id, room_id)
            after = change(before)
            if after == before:
                return
            content = {"tags": after}
            if len(msgspec.json.encode(content)) > MAX_ACCOUNT_DATA_BYTES:
                raise MatrixError(413, Errcode.TOO_LARGE, "too many tags on this room")
            await self._account_data.put_server_managed(user_id, room_id, TAG_TYPE, content)


def _check_room_id(room_id: str) -> None:
    if not room_id.startswith("!") or len(room_id) > 255:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"invalid room ID {room_id!r}")


def _check_tag(tag: str, body: JsonObject) -> None:
    if not tag or len(tag.encode()) > MAX_TAG_BYTES:
        raise MatrixError(
            400, Errcode.INVALID_PARAM, f"a tag name is 1 to {MAX_TAG_BYTES} bytes long"
        )
    if "order" not in body:
        return
    order = body["order"]
    if isinstance(order, bool) or not isinstance(order, int | float):
        raise MatrixError(400, Errcode.BAD_JSON, "order must be a number")
    if not 0 <= order <= 1:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"order must be between 0 and 1, not {order}")
