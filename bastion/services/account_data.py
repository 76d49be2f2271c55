"""Account data (global and per room) and stored sync filters, both private to their user.

`m.ignored_user_list` is checked before it is stored and handed to the ignored-users cache
(services/ignored_users.py) right after it commits, so reads apply a new list at once.
"""

from __future__ import annotations

import secrets
from typing import Any

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.events.canonical import check_json_values
from bastion.events.filters import FilterDefinition
from bastion.pubsub.base import Notifier
from bastion.services.auth import Requester
from bastion.services.ignored_users import (
    IGNORED_USER_LIST,
    IgnoredUsers,
    check_ignored_user_list,
)
from bastion.store.database import Database
from bastion.store.protocols import AccountDataStore
from bastion.store.stream import StreamPositions

MAX_FILTERS_PER_USER = 1000
MAX_ACCOUNT_DATA_BYTES = 65_536
# Set through their own endpoints, never as raw account data
# (spec: client-server-api#put_matrixclientv3useruseridaccount_datatype).
_SERVER_MANAGED = frozenset({"m.fully_read", "m.push_rules"})


def require_self(requester: Requester, user_id: str) -> None:
    """403 unless the path's user is the requester."""
    if requester.user_id != user_id:
        raise MatrixError(403, Errcode.FORBIDDEN, "you can only access your own data")


class AccountDataService:
    """Reads and writes account data; each write takes a stream position and wakes the user."""

    def __init__(
        self,
        db: Database,
        store: AccountDataStore,
        positions: StreamPositions,
        notifier: Notifier,
        ignored: IgnoredUsers,
    ) -> None:
        self._db = db
        self._store = store
        self._positions = positions
        self._notifier = notifier
        self._ignored = ignored

    async def put(
        self,
        requester: Requester,
        user_id: str,
        room_id: str,
        data_type: str,
        content: dict[str, Any],
    ) -> None:
        """Store one entry (room_id '' for global data)."""
        require_self(requester, user_id)
        if data_type in _SERVER_MANAGED:
            raise MatrixError(405, Errcode.BAD_JSON, f"{data_type} cannot be set through this API")
        check_json_values(content)
        if len(msgspec.json.encode(content)) > MAX_ACCOUNT_DATA_BYTES:
            raise MatrixError(413, Errcode.TOO_LARGE, "account data is too large")
        if data_type == IGNORED_USER_LIST and room_id == "":
            check_ignored_user_list(user_id, content)
        await self.put_server_managed(user_id, room_id, data_type, content)

    async def put_server_managed(
        self, user_id: str, room_id: str, data_type: str, content: dict[str, Any]
    ) -> None:
        """Write without the client-facing checks (m.fully_read from read markers)."""
        with self._positions.allocate() as [position]:
            async with self._db.transaction() as t:
                await self._store.put(t, user_id, room_id, data_type, content, position)
        if data_type == IGNORED_USER_LIST and room_id == "":
            self._ignored.remember(user_id, content)  # before anyone reads again
        self._notifier.notify(position, [user_id])

    async def get(
        self, requester: Requester, user_id: str, room_id: str, data_type: str
    ) -> dict[str, Any]:
        """One entry; 404 M_NOT_FOUND when unset."""
        require_self(requester, user_id)
        content = await self._store.get(self._db, user_id, room_id, data_type)
        if content is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"no account data of type {data_type}")
        return content

    async def create_filter(
        self, requester: Requester, user_id: str, definition: FilterDefinition
    ) -> str:
        """Store a sync filter; returns its ID."""
        require_self(requester, user_id)
        if await self._store.count_filters(self._db, user_id) >= MAX_FILTERS_PER_USER:
            raise MatrixError(400, Errcode.LIMIT_EXCEEDED, "too many filters")
        filter_id = secrets.token_hex(8)
        async with self._db.transaction() as t:
            await self._store.insert_filter(
                t, user_id, filter_id, msgspec.json.encode(definition).decode()
            )
        return filter_id

    async def get_filter(
        self, requester: Requester, user_id: str, filter_id: str
    ) -> FilterDefinition:
        """A stored filter; 404 M_NOT_FOUND when unknown."""
        require_self(requester, user_id)
        raw = await self._store.get_filter(self._db, user_id, filter_id)
        if raw is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"no filter {filter_id!r}")
        return msgspec.json.decode(raw, type=FilterDefinition)
