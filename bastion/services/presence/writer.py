"""The one writer of presence: loads a user's row into memory, persists changes, wakes watchers.

A change others can see (state, status message, `currently_active`) takes a stream position in
the write transaction and, after commit, wakes the user and everyone sharing a joined room with
them. A change of timestamps only is written in place, with no position and no wake-up.
`apply` returns once this process's readers may read the new positions (`wait_readable`, as
the event pipeline does): the sync that set its user online answers at or past that position,
so the user's own change is in that answer and does not wake their next long-poll (with several
processes a position becomes readable only once the peers' promises have passed it).

Invariant: every read-modify-write runs under one asyncio lock, evaluated against the entries as
they are once the lock is held, so two writers of this process can never store an older state
at a newer position. The lock is never held across anything but presence reads and writes, and
no transaction is open when it is taken.

With other processes (`shared`): a stale entry (tracker.py) is read again under the lock before
a transition sees it, and each visible change is announced with `CacheInvalidated(PRESENCE_CACHE,
user_id)` so the other processes read it again too. Stored timestamps never move backwards
(store/sql/presence.py), so one process's older view cannot undo another's newer activity.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence

import msgspec

from bastion.pubsub.base import Bus
from bastion.pubsub.messages import CacheInvalidated, EventsPersisted
from bastion.services.presence.tracker import PRESENCE_CACHE, PresenceTracker, Tracked
from bastion.services.presence.transitions import is_visible_change, never_seen
from bastion.store.database import Database
from bastion.store.protocols import PresenceRecord, PresenceStore
from bastion.store.stream import PositionAllocator

Transition = Callable[[Tracked], PresenceRecord]


class PresenceWriter:
    """Reads and writes presence rows for the service and the expiry sweep."""

    def __init__(
        self,
        db: Database,
        store: PresenceStore,
        positions: PositionAllocator,
        bus: Bus,
        tracker: PresenceTracker,
        *,
        shared: bool = False,
    ) -> None:
        self._db = db
        self._shared = shared
        self._store = store
        self._positions = positions
        self._bus = bus
        self._tracker = tracker
        self._lock = asyncio.Lock()

    @property
    def shared(self) -> bool:
        """Whether other processes write presence to the same database."""
        return self._shared

    async def current(self, user_id: str) -> Tracked:
        """The user's entry, read from the database on first use."""
        entry = self._tracker.get(user_id)
        if entry is not None and not entry.stale:
            return entry
        async with self._lock:
            return await self._load(user_id, None)

    async def apply(
        self,
        user_ids: Sequence[str],
        transition: Transition,
        *,
        known: Mapping[str, PresenceRecord] | None = None,
    ) -> int:
        """Apply `transition` to each user's entry; returns how many visible changes it made.

        `known` holds rows already read for users that may not be tracked yet.
        """
        async with self._lock:
            visible, quiet = [], []
            for user_id in user_ids:
                entry = await self._load(user_id, (known or {}).get(user_id))
                new = transition(entry)
                if is_visible_change(entry.record, new):
                    visible.append(new)
                elif _timestamps(new) != _timestamps(entry.stored):
                    quiet.append(new)
                else:
                    entry.record = new
            if not visible and not quiet:
                return 0
            visible = await self._persist(visible, quiet)
        if visible:
            await self._positions.wait_readable(await self._wake(visible))
        return len(visible)

    async def _load(self, user_id: str, known: PresenceRecord | None) -> Tracked:
        """Under the lock: the tracked entry (read again if stale), else `known`, else the
        stored row."""
        entry = self._tracker.get(user_id)
        if entry is not None and not entry.stale:
            return entry
        stored = known or await self._store.get_presence(self._db, user_id)
        if entry is not None:
            self._tracker.refresh(entry, stored or never_seen(user_id))
            return entry
        return self._tracker.remember(stored or never_seen(user_id))

    async def _persist(
        self, visible: list[PresenceRecord], quiet: list[PresenceRecord]
    ) -> list[PresenceRecord]:
        """Under the lock: one transaction; visible changes at new positions."""
        with self._positions.allocate(len(visible)) as positions:
            visible = [
                msgspec.structs.replace(record, stream_id=position)
                for record, position in zip(visible, positions, strict=True)
            ]
            async with self._db.transaction() as t:
                if visible:
                    await self._store.put_presence(t, visible)
                if quiet:
                    await self._store.touch_presence(t, quiet)
        for record in (*visible, *quiet):
            self._tracker.stored(record)
        return visible

    async def _wake(self, changed: list[PresenceRecord]) -> int:
        """After commit: the changed users and everyone sharing a joined room with them.
        Returns the newest position of the changes."""
        user_ids = [record.user_id for record in changed]
        watchers = await self._store.users_sharing_rooms_with(self._db, user_ids)
        position = max(r.stream_id for r in changed)
        if self._shared:  # before the wake-up: a woken process reads the new rows
            for user_id in user_ids:
                self._bus.publish(CacheInvalidated(PRESENCE_CACHE, user_id))
        self._bus.publish(EventsPersisted(position, frozenset({*user_ids, *watchers})))
        return position


def _timestamps(record: PresenceRecord) -> tuple[int, int]:
    return record.last_active_ts, record.last_sync_ts
