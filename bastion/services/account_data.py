"""Account data (global and per room) and stored sync filters, both private to their user.

Some global account data is read by the server itself (`m.ignored_user_list` by every read
path): its `AccountDataKind` checks it before it is stored, and right after it commits
`CacheInvalidated(data_type, user_id)` goes on the bus (the kind's cache subscribes to it), so
the server applies a new value at once.

A stored filter is kept as the client's JSON, checked against `FilterDefinition` first, so
`GET /user/{userId}/filter/{filterId}` returns it as uploaded; sync reads it through the same
type. Rows written before (a normalised `FilterDefinition`) are valid JSON of that shape too.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any, Protocol

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.events.canonical import check_json_values
from bastion.events.filters import FilterDefinition
from bastion.events.typed_json import decode_as
from bastion.pubsub.base import Bus
from bastion.pubsub.messages import CacheInvalidated, EventsPersisted
from bastion.services.principal import Requester
from bastion.store.database import Database
from bastion.store.protocols import AccountDataStore
from bastion.store.stream import PositionAllocator

MAX_FILTERS_PER_USER = 1000
MAX_ACCOUNT_DATA_BYTES = 65_536
# Set through their own endpoints, never as raw account data
# (spec: client-server-api#put_matrixclientv3useruseridaccount_datatype).
_SERVER_MANAGED = frozenset({"m.fully_read", "m.push_rules"})


class AccountDataKind(Protocol):
    """A global account data type the server reads itself."""

    @property
    def data_type(self) -> str: ...

    def check(self, owner: str, content: dict[str, Any]) -> None:
        """Raise MatrixError (400) when a client sets content the server cannot use."""
        ...


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
        positions: PositionAllocator,
        bus: Bus,
        kinds: Sequence[AccountDataKind] = (),
    ) -> None:
        self._db = db
        self._store = store
        self._positions = positions
        self._bus = bus
        self._kinds = {kind.data_type: kind for kind in kinds}

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
        if room_id == "" and (kind := self._kinds.get(data_type)) is not None:
            kind.check(user_id, content)
        await self.put_server_managed(user_id, room_id, data_type, content)

    async def put_server_managed(
        self, user_id: str, room_id: str, data_type: str, content: dict[str, Any]
    ) -> None:
        """Write without the client-facing checks (m.fully_read from read markers)."""
        with self._positions.allocate() as [position]:
            async with self._db.transaction() as t:
                await self._store.put(t, user_id, room_id, data_type, content, position)
        if room_id == "" and data_type in self._kinds:
            self._bus.publish(CacheInvalidated(data_type, user_id))
        self._bus.publish(EventsPersisted(position, frozenset([user_id])))

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
        self, requester: Requester, user_id: str, definition: dict[str, Any]
    ) -> str:
        """Store a sync filter as the client wrote it (once it is a valid filter); returns its ID.

        Raises:
            MatrixError: 400 M_BAD_JSON when `definition` is not a filter.
        """
        require_self(requester, user_id)
        raw = msgspec.json.encode(definition)
        decode_as(raw, FilterDefinition, what="filter")
        if await self._store.count_filters(self._db, user_id) >= MAX_FILTERS_PER_USER:
            raise MatrixError(400, Errcode.LIMIT_EXCEEDED, "too many filters")
        filter_id = secrets.token_hex(8)
        async with self._db.transaction() as t:
            await self._store.insert_filter(t, user_id, filter_id, raw.decode())
        return filter_id

    async def get_filter(
        self, requester: Requester, user_id: str, filter_id: str
    ) -> dict[str, Any]:
        """A stored filter as it was uploaded; 404 M_NOT_FOUND when unknown."""
        raw = await self._stored_filter(requester, user_id, filter_id)
        definition: dict[str, Any] = msgspec.json.decode(raw)
        return definition

    async def filter_definition(
        self, requester: Requester, user_id: str, filter_id: str
    ) -> FilterDefinition:
        """A stored filter, typed for use; 404 M_NOT_FOUND when unknown."""
        raw = await self._stored_filter(requester, user_id, filter_id)
        return msgspec.json.decode(raw, type=FilterDefinition)

    async def _stored_filter(self, requester: Requester, user_id: str, filter_id: str) -> str:
        require_self(requester, user_id)
        raw = await self._store.get_filter(self._db, user_id, filter_id)
        if raw is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"no filter {filter_id!r}")
        return raw
