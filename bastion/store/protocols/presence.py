"""The presence store and its row.

See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from bastion.store.database import Queryable


class PresenceRecord(msgspec.Struct, frozen=True):
    """One user's presence. `stream_id` is the position of the last change others can see."""

    user_id: str
    state: str
    status_msg: str | None
    last_active_ts: int
    currently_active: bool
    last_sync_ts: int
    stream_id: int


class ExpiryCutoffs(msgspec.Struct, frozen=True):
    """Rows the expiry sweep must look at: online and inactive since `online_active_before`, or
    not offline with neither a sync nor activity since `live_seen_before`."""

    online_active_before: int
    live_seen_before: int
    limit: int


class PresenceStore(Protocol):
    """Presence rows, the changes /sync delivers, and who may see whose."""

    async def get_presence(self, q: Queryable, user_id: str) -> PresenceRecord | None: ...
    async def put_presence(self, q: Queryable, records: Sequence[PresenceRecord]) -> None: ...
    async def touch_presence(self, q: Queryable, records: Sequence[PresenceRecord]) -> None: ...
    async def changed_for_viewer(
        self, q: Queryable, viewer: str, *, after: int, upto: int, limit: int
    ) -> list[PresenceRecord]: ...
    async def changed_between(
        self, q: Queryable, *, after: int, upto: int, limit: int
    ) -> list[PresenceRecord]: ...
    async def live_in_rooms(
        self, q: Queryable, room_ids: Sequence[str], *, limit: int
    ) -> list[PresenceRecord]: ...
    async def current_for_viewer(
        self, q: Queryable, viewer: str, *, limit: int
    ) -> list[PresenceRecord]: ...
    async def expiry_candidates(
        self, q: Queryable, cutoffs: ExpiryCutoffs
    ) -> list[PresenceRecord]: ...
    async def shares_room(self, q: Queryable, user_id: str, other: str) -> bool: ...
    async def users_sharing_rooms_with(self, q: Queryable, user_ids: Sequence[str]) -> set[str]: ...
