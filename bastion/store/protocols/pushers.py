"""Pusher store (see migrations/0012_create_pushers.sql for the model).

See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from bastion.store.database import Queryable


class PusherRecord(msgspec.Struct, frozen=True):
    """One pusher: where one user's notifications go, and how far delivery got.

    `data` is the client's `data` object as JSON text (with `url`); `created_ts` is when the
    pushkey was last set (the gateway's `pushkey_ts`)."""

    user_id: str
    app_id: str
    pushkey: str
    device_id: str
    kind: str
    app_display_name: str
    device_display_name: str
    profile_tag: str | None
    lang: str
    data: str
    created_ts: int
    last_stream_ordering: int
    failing_since: int | None = None


class PendingPush(msgspec.Struct, frozen=True):
    """A notifying event for one user, after a pusher's position (from the recorded outcomes)."""

    stream_ordering: int
    room_id: str
    event_id: str
    actions: str


class PusherStore(Protocol):
    """Pushers by user, by (app_id, pushkey), and the notifications they still have to send."""

    async def upsert_pusher(self, q: Queryable, pusher: PusherRecord) -> None: ...
    async def delete_pusher(self, q: Queryable, user_id: str, app_id: str, pushkey: str) -> int: ...
    async def delete_others(self, q: Queryable, user_id: str, app_id: str, pushkey: str) -> int: ...
    async def pushers_of(self, q: Queryable, user_id: str) -> list[PusherRecord]: ...
    async def users_with_pushers(self, q: Queryable) -> list[str]: ...
    async def pending(
        self, q: Queryable, user_id: str, *, after: int, upto: int, limit: int
    ) -> list[PendingPush]: ...
    async def set_progress(
        self, q: Queryable, pusher: PusherRecord, *, position: int, failing_since: int | None
    ) -> None: ...
    async def delete_rejected(
        self, q: Queryable, user_id: str, app_id: str, pushkeys: Sequence[str]
    ) -> int: ...
