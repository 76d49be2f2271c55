"""The newest events of rooms over one stream window, read once for every sync woken together.

One message wakes every member's parked /sync, and each asks the read door for the same thing:
the room's newest events in (since, upto], with the same `since` (the previous answer's
position) and the same `upto` (`persisted_upto`). The first reader's query is kept, by (room,
after, upto, limit), and the others take it from here (those that ask while it is still
running wait for it rather than ask the database again). Only the fetch is shared: every reader
still goes through every check of the read door (services/visibility.py: retention, ignored
users, history visibility, its filter) with its own membership.

Invariants:

* an entry is the exact answer of the store for its key at the time it was read, and `upto` is
  a position nothing at or below which is still being written (the reader's `persisted_upto`),
  so the window's set of events can no longer change; a reader never asks past its own
  `persisted_upto`, so it never trusts an entry past it either;
* a redaction marks its target in the transaction of the redaction event, whose position is
  later, so every reader that could see the redaction asks for a new window; it also drops its
  room here at once (`RedactionWatcher`), and in every other process through the bus
  (`CacheInvalidated(ROOM_EVENTS_CACHE, room_id)`). Changes that move no position (offboarding
  erasure, purges: rows rewritten or deleted in place) reach readers within `TTL_MS`; a
  `DeliveryGap` clears everything;
* a fill that started before an invalidation is not kept (`_generation`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from typing_extensions import override

from bastion.clock import Clock
from bastion.events.model import StoredEvent
from bastion.events.types import EventType
from bastion.pubsub.base import Bus
from bastion.pubsub.messages import CacheInvalidated
from bastion.services.event_hooks import CommittedEvent, EventHook
from bastion.store.database import Database
from bastion.store.protocols import EventStore

ROOM_EVENTS_CACHE = "room_events"
TTL_MS = 2_000  # an entry serves the syncs woken by one event, then goes
MAX_ENTRIES = 1_024

Key = tuple[str, int, int, int]  # room, after, upto, limit


@dataclass(frozen=True, slots=True)
class _Entry:
    read_at: int  # ms
    events: tuple[StoredEvent, ...]  # oldest first


class RecentRoomEvents:
    """`EventStore.recent_events_in_rooms`, shared by the readers of one window."""

    def __init__(self, db: Database, events: EventStore, clock: Clock) -> None:
        self._db, self._events, self._clock = db, events, clock
        self._entries: dict[Key, _Entry] = {}
        self._flights: dict[Key, asyncio.Future[tuple[StoredEvent, ...] | None]] = {}
        self._generation = 0

    async def recent_events_in_rooms(
        self, room_ids: Sequence[str], *, after: int, upto: int, limit: int
    ) -> list[StoredEvent]:
        """Up to `limit` newest events per room in (after, upto], oldest first (the store's
        contract); `upto` must be at or below the reader's `persisted_upto`."""
        now = self._clock.now_ms()
        found: list[StoredEvent] = []
        joined: list[tuple[str, asyncio.Future[tuple[StoredEvent, ...] | None]]] = []
        missing: list[str] = []
        for room_id in dict.fromkeys(room_ids):
            key = (room_id, after, upto, limit)
            entry = self._entries.get(key)
            if entry is not None and now - entry.read_at <= TTL_MS:
                found += entry.events
            elif (flight := self._flights.get(key)) is not None:
                joined.append((room_id, flight))
            else:
                missing.append(room_id)
        if missing:
            found += await self._fetch(missing, (after, upto, limit), now)
        for room_id, flight in joined:
            # shielded: a reader that goes away must not cancel the others' answer
            events = await asyncio.shield(flight)
            if events is None:  # the reader that fetched it failed or went away: read it here
                found += await self._fetch([room_id], (after, upto, limit), now)
            else:
                found += events
        if len(room_ids) > 1:
            found.sort(key=lambda e: e.stream_ordering)
        return found

    async def _fetch(
        self, rooms: list[str], window: tuple[int, int, int], now: int
    ) -> list[StoredEvent]:
        """Read `rooms`' windows, letting readers of the same windows wait for this read."""
        after, upto, limit = window
        loop = asyncio.get_running_loop()
        flights = {(r, after, upto, limit): loop.create_future() for r in rooms}
        self._flights.update(flights)
        generation = self._generation
        by_room: dict[str, list[StoredEvent]] | None = None
        try:
            fetched = await self._events.recent_events_in_rooms(
                self._db, rooms, after=after, upto=upto, limit=limit
            )
            by_room = {room_id: [] for room_id in rooms}
            for event in fetched:
                by_room[event.room_id].append(event)
            if generation == self._generation:  # nothing was invalidated meanwhile
                for room_id, events in by_room.items():
                    self._entries[(room_id, after, upto, limit)] = _Entry(now, tuple(events))
                if len(self._entries) > MAX_ENTRIES:
                    self._expire(now)
            return fetched
        finally:
            for key, flight in flights.items():
                if self._flights.get(key) is flight:
                    del self._flights[key]
                if not flight.done():
                    flight.set_result(None if by_room is None else tuple(by_room[key[0]]))

    def drop_room(self, room_id: str) -> None:
        """Forget the room's windows (its stored events changed)."""
        self._generation += 1
        for key in [k for k in self._entries if k[0] == room_id]:
            del self._entries[key]
        for key in [k for k in self._flights if k[0] == room_id]:
            del self._flights[key]  # its readers keep it; later ones read again

    def clear(self) -> None:
        """Forget everything (invalidations from other processes may have been missed)."""
        self._generation += 1
        self._entries.clear()
        self._flights.clear()

    def _expire(self, now: int) -> None:
        """Drop expired entries, then the oldest ones down to half the bound."""
        self._entries = {k: e for k, e in self._entries.items() if now - e.read_at <= TTL_MS}
        excess = len(self._entries) - MAX_ENTRIES // 2
        for key in list(self._entries)[: max(excess, 0)]:  # insertion order: oldest first
            del self._entries[key]


class RedactionWatcher(EventHook):
    """Drops a room's windows once a redaction in it commits, here and in other processes."""

    def __init__(self, recent: RecentRoomEvents, bus: Bus) -> None:
        self._recent, self._bus = recent, bus

    @override
    async def committed(self, committed: CommittedEvent) -> None:
        event = committed.event
        if event.type == EventType.REDACTION:
            self._recent.drop_room(event.room_id)
            self._bus.publish(CacheInvalidated(ROOM_EVENTS_CACHE, event.room_id))
