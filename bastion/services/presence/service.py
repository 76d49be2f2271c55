"""Presence (spec: client-server-api#presence): set and read status, presence set by /sync, the
m.presence events /sync delivers, and the expiry sweep.

Who sees whom: a user's presence reaches the users who share a joined room with them, and the
user themself (as Synapse does, so every client of theirs learns what the server shows). `GET
/presence/{userId}/status` for anyone else is 403 M_FORBIDDEN (the spec allows 403 "not allowed
to see this user's presence"; Synapse answers the same) and 404 M_NOT_FOUND for an unknown user.

Cost: a sync that changes nothing visible touches only memory (`tracker.py`); the delivery in
/sync is one query (`store/sql/presence.py`). With `presence.enabled = false` nothing is stored
or sent: PUT is validated and ignored, GET answers offline, /sync carries no presence.

Several processes (`shared`: `[redis] url` set): a sync or an action also writes its user's
timestamps through once the stored ones lag by `WRITE_THROUGH_MS` (one UPDATE per user per 15 s
at most, a sync's at its start), so the sweep, which runs in one process, sees activity on every
process; and the tracker listens for the others' visible writes (tracker.py). Alone, nothing
of this happens: the cost above is unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import msgspec

from bastion.clock import Clock
from bastion.config import PresenceConfig
from bastion.errors import Errcode, MatrixError
from bastion.events.filters import EventFilter, effective_limit, type_and_sender_match
from bastion.json_types import JsonObject
from bastion.pubsub.base import Bus, subscribe_cache
from bastion.services.presence.expiry import WRITE_THROUGH_MS, ExpirySweeper
from bastion.services.presence.tracker import PRESENCE_CACHE, PresenceTracker, Tracked
from bastion.services.presence.transitions import (
    OFFLINE,
    PRESENCE_STATES,
    Timeouts,
    is_visible_change,
    never_seen,
    presence_content,
    presence_event,
    seen_acting,
    seen_syncing,
    set_by_client,
)
from bastion.services.presence.writer import PresenceWriter
from bastion.services.principal import Requester
from bastion.store.database import Database
from bastion.store.protocols import PresenceRecord, PresenceStore, UserStore
from bastion.store.stream import PositionAllocator

MAX_STATUS_MSG_LENGTH = 1024
# Initial sync: at most this many users' presence (most recently changed first).
INITIAL_SYNC_LIMIT = 1000
# Incremental sync without a filter limit: every change in the window (one row per user).
_NO_LIMIT = 2**31 - 1


@dataclass(frozen=True, slots=True)
class PresenceStores:
    """Presence rows, and the accounts (to tell an unknown user from a hidden one)."""

    presence: PresenceStore
    users: UserStore


class PresenceService:
    """Everything presence; see the module docstring."""

    def __init__(
        self,
        db: Database,
        stores: PresenceStores,
        *,
        positions: PositionAllocator,
        bus: Bus,
        clock: Clock,
        config: PresenceConfig,
        shared: bool = False,
    ) -> None:
        """`shared`: other processes serve the same database (see the module docstring)."""
        self._db = db
        self._store = stores.presence
        self._users = stores.users
        self._clock = clock
        self._config = config
        self._tracker = PresenceTracker()
        self._writer = PresenceWriter(db, self._store, positions, bus, self._tracker, shared=shared)
        self._shared = shared
        if shared:
            tracker = self._tracker
            subscribe_cache(bus, PRESENCE_CACHE, tracker.invalidate, tracker.invalidate_all)
        self._sweeper = ExpirySweeper(
            db,
            self._store,
            self._writer,
            self._tracker,
            timeouts=Timeouts(
                idle_ms=config.idle_after_seconds * 1000,
                offline_ms=config.offline_after_seconds * 1000,
            ),
            interval_ms=config.expiry_interval_seconds * 1000,
        )

    @property
    def enabled(self) -> bool:
        return self._config.enabled

    async def set_status(
        self, requester: Requester, user_id: str, presence: str, status_msg: str | None
    ) -> None:
        """`PUT /presence/{userId}/status`: only one's own."""
        if user_id != requester.user_id:
            raise MatrixError(403, Errcode.FORBIDDEN, "you can only set your own presence")
        if presence not in PRESENCE_STATES:
            raise MatrixError(
                400, Errcode.INVALID_PARAM, f"presence must be one of {PRESENCE_STATES}"
            )
        if status_msg is not None and len(status_msg) > MAX_STATUS_MSG_LENGTH:
            raise MatrixError(
                400,
                Errcode.INVALID_PARAM,
                f"status_msg is longer than {MAX_STATUS_MSG_LENGTH} characters",
            )
        if not self.enabled:
            return
        now = self._clock.now_ms()
        await self._writer.apply(
            [user_id], lambda entry: set_by_client(entry.record, presence, status_msg, now)
        )

    async def get_status(self, requester: Requester, user_id: str) -> JsonObject:
        """`GET /presence/{userId}/status`: one's own, or that of someone sharing a room."""
        if user_id != requester.user_id:
            if await self._users.get_user(self._db, user_id) is None:
                raise MatrixError(404, Errcode.NOT_FOUND, f"no such user {user_id}")
            if not await self._store.shares_room(self._db, requester.user_id, user_id):
                raise MatrixError(
                    403, Errcode.FORBIDDEN, f"you share no room with {user_id}, so cannot see"
                    " their presence",
                )  # fmt: skip
        if not self.enabled:
            return {"presence": OFFLINE}
        entry = self._tracker.get(user_id)
        if entry is not None and not entry.stale:
            record = entry.record
        else:
            record = await self._store.get_presence(self._db, user_id) or never_seen(user_id)
        return presence_content(record, self._clock.now_ms())

    @asynccontextmanager
    async def syncing(self, user_id: str, set_presence: str) -> AsyncIterator[None]:
        """Around one `GET /sync`: applies `set_presence`, and counts the sync as in progress
        (so its user cannot time out to offline) until it ends."""
        if not self.enabled:
            yield
            return
        entry = await self._writer.current(user_id)
        entry.syncs_in_flight += 1  # no await since `current`: the sweep cannot drop `entry`
        try:
            now = self._clock.now_ms()
            await self._move(entry, lambda record: seen_syncing(record, set_presence, now))
            yield
        finally:
            self._tracker.sync_ended(user_id, self._clock.now_ms())

    async def acted(self, user_id: str) -> None:
        """The user sent an event: `last_active_ago` restarts, and an idle user is online again."""
        if not self.enabled:
            return
        entry = await self._writer.current(user_id)
        now = self._clock.now_ms()
        await self._move(entry, lambda record: seen_acting(record, now))

    async def _move(
        self, entry: Tracked, transition: Callable[[PresenceRecord], PresenceRecord]
    ) -> None:
        """Apply a transition: through the writer when others must hear of it (or, shared, when
        the stored timestamps lag too far), else in memory only (the sweep flushes them)."""
        new = transition(entry.record)
        if is_visible_change(entry.record, new) or self._lags(entry.stored, new):
            await self._writer.apply([entry.record.user_id], lambda e: transition(e.record))
        else:
            entry.record = new

    def _lags(self, stored: PresenceRecord, new: PresenceRecord) -> bool:
        """Shared only: whether the stored activity is `WRITE_THROUGH_MS` behind `new`."""
        return self._shared and (
            new.last_sync_ts - stored.last_sync_ts >= WRITE_THROUGH_MS
            or new.last_active_ts - stored.last_active_ts >= WRITE_THROUGH_MS
        )

    async def sync_events(
        self,
        viewer: str,
        wanted: EventFilter,
        *,
        since: int | None,
        upto: int,
        joined_rooms: Sequence[str] = (),
    ) -> list[JsonObject]:
        """The m.presence events of a sync: changes in (since, upto] visible to `viewer` and
        the live presence of the members of `joined_rooms` (rooms the viewer joined in that
        window), or on an initial sync (`since` None) that of everyone sharing a room."""
        if not self.enabled or not type_and_sender_match(wanted, "m.presence", None):
            return []
        if since is None:
            limit = effective_limit(wanted.limit, INITIAL_SYNC_LIMIT)
            rows = await self._store.current_for_viewer(self._db, viewer, limit=limit)
        else:
            limit = _NO_LIMIT if wanted.limit is None else effective_limit(wanted.limit, 1)
            rows = await self._store.changed_for_viewer(
                self._db, viewer, after=since, upto=upto, limit=limit
            )
            if joined_rooms:
                rows = _newest_per_user(
                    rows, await self._store.live_in_rooms(self._db, joined_rooms, limit=limit)
                )[:limit]
        now = self._clock.now_ms()
        return [
            presence_event(self._freshest(row), now)
            for row in reversed(rows)
            if type_and_sender_match(wanted, "m.presence", row.user_id)
        ]

    async def changes_between(
        self, *, after: int, upto: int, limit: int
    ) -> list[tuple[int, JsonObject]]:
        """Oldest first, at most `limit`: (position, m.presence event) of every user whose
        presence changed visibly in (after, upto], as /sync shapes it (the application services'
        transactions, which choose whose they carry). Nothing when presence is disabled."""
        if not self.enabled:
            return []
        rows = await self._store.changed_between(self._db, after=after, upto=upto, limit=limit)
        now = self._clock.now_ms()
        return [(row.stream_id, presence_event(self._freshest(row), now)) for row in rows]

    async def expire(self, now_ms: int) -> int:
        """Apply the idle and offline timeouts due at `now_ms`; returns how many users changed."""
        if not self.enabled:
            return 0
        return await self._sweeper.sweep(now_ms)

    def _freshest(self, row: PresenceRecord) -> PresenceRecord:
        """The row with the newest last-active time this process knows (the spec wants it up to
        date whenever presence is delivered)."""
        entry = self._tracker.get(row.user_id)
        if entry is None or entry.record.last_active_ts <= row.last_active_ts:
            return row
        return msgspec.structs.replace(row, last_active_ts=entry.record.last_active_ts)


def _newest_per_user(*batches: list[PresenceRecord]) -> list[PresenceRecord]:
    """One row per user (the newest), newest first."""
    newest: dict[str, PresenceRecord] = {}
    for row in (row for batch in batches for row in batch):
        if row.user_id not in newest or newest[row.user_id].stream_id < row.stream_id:
            newest[row.user_id] = row
    return sorted(newest.values(), key=lambda row: row.stream_id, reverse=True)
