"""Sliding-sync connection memory and the room facts its lists filter on (see
migrations/0026_create_sliding_sync.sql for the model, services/sliding_sync/ for the rules).

See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from bastion.store.database import Queryable


class ConnectionRow(msgspec.Struct, frozen=True):
    """One sliding-sync connection (a client's sync loop)."""

    conn_key: str
    user_id: str
    device_id: str
    conn_id: str
    created_ts: int
    last_used_ts: int


class PositionRow(msgspec.Struct, frozen=True):
    """One issued position of a connection and the rooms its response covered (JSON)."""

    connection: ConnectionRow
    seq: int
    scope: str
    positions: int  # how many positions the connection has stored (1: only this one)
    newest: int = 0  # the greatest seq the connection has stored
    # (B, order JSON): the order snapshot of the greatest seq B <= seq, if any is stored
    order_snapshot: tuple[int, str] | None = None
    version: int = 0  # random, per stored row (0: stored before versions)


class NewPosition(msgspec.Struct, frozen=True):
    """A position to store, with the room memories (room_id, JSON) that changed at it."""

    conn_key: str
    seq: int
    scope: str
    rooms: Sequence[tuple[str, str]]
    now_ms: int
    order_snapshot: str | None = None  # the whole order, stored as this seq's snapshot
    version: int = 0  # the row's version (random)


class StateEntry(msgspec.Struct, frozen=True):
    """A current state event of a room, as the lists' filters need it (type, key, PDU)."""

    room_id: str
    type: str
    state_key: str
    pdu: str


class SlidingSyncStore(Protocol):
    """Connections, their positions and room memories; facts about many rooms at once."""

    async def replace_connection(self, q: Queryable, row: ConnectionRow) -> None: ...
    async def find_position(self, q: Queryable, conn_key: str, seq: int) -> PositionRow | None: ...
    async def room_memories(
        self, q: Queryable, conn_key: str, seq: int, room_ids: Sequence[str] | None = None
    ) -> dict[str, str]: ...
    async def acknowledge(
        self, q: Queryable, conn_key: str, seq: int, *, newest: bool = False
    ) -> None: ...
    async def insert_position(self, q: Queryable, position: NewPosition) -> None: ...
    async def advance_position(
        self, q: Queryable, seq: int, version: int, position: NewPosition, *, replace: bool
    ) -> bool: ...
    async def position_version(self, q: Queryable, conn_key: str, seq: int) -> int | None: ...
    async def touch(self, q: Queryable, conn_key: str, now_ms: int) -> None: ...
    async def delete_unused(self, q: Queryable, *, unused_since_ms: int) -> int: ...
    async def delete_oldest_of_device(
        self, q: Queryable, user_id: str, device_id: str, *, keep: int
    ) -> int: ...
    async def removed_by_others(
        self, q: Queryable, user_id: str, room_ids: Sequence[str]
    ) -> set[str]: ...
    async def room_tags(self, q: Queryable, user_id: str) -> dict[str, set[str]]: ...
    async def state_entries(
        self, q: Queryable, room_ids: Sequence[str], types: Sequence[str]
    ) -> list[StateEntry]: ...
