"""Wake-ups for long-polling /sync: one future per waiting sync, woken only for the users a
message concerns. It subscribes to the bus (`EventsPersisted`, `EphemeralChanged`,
`SessionsRevoked`), so it works the same whichever bus delivers them.

A revocation wakes the user's syncs and bumps the user's revocation serial; a sync passes the
serial it read before checking its session (`after_revocation`), so a revocation that lands
between that check and the wait still wakes it at once (the sync then finds its token gone).

A `DeliveryGap` (the bus could not hear the other processes) wakes every waiting sync and
counts as a revocation for every user: each woken sync rebuilds from the database (where every
event is) and re-checks its session, so an outage of the bus slows wake-ups down to the bus's
re-check interval but loses nothing.

A poll peeking into a room its user is not in (`GET /events?room_id=`) is woken by the room's
events as well: the last `RECENT_ROOM_EVENTS` room events announced are remembered by position,
so a wait after a position older than all of them returns at once (its caller reads the room
again and finds nothing, or what it missed) rather than keeping a position for every room.

Invariant: `wait` checks the user's (and room's) last notified position and registers its
future with no `await` in between, and a message records the position before waking futures,
so a wake-up can never fall between a sync's check and its wait.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable

from bastion.pubsub.base import Bus
from bastion.pubsub.messages import (
    DeliveryGap,
    EphemeralChanged,
    EventsPersisted,
    SessionsRevoked,
)

# How many room events a process remembers for peeking polls (a few seconds of a busy server).
RECENT_ROOM_EVENTS = 4096


class SyncWakeups:
    """Per-user wake-ups within one process (a `SyncWaits`)."""

    def __init__(self) -> None:
        self._last_position: dict[str, int] = {}
        self._last_ephemeral: dict[str, int] = {}
        self._revocations: dict[str, int] = {}
        self._gaps = 0  # DeliveryGaps seen: part of every user's revocation serial
        self._revocations_total = 0  # every revocation and gap heard, whoever it concerned
        self._waiters: dict[str, set[asyncio.Future[bool]]] = {}
        self._room_waiters: dict[str, set[asyncio.Future[bool]]] = {}
        self._room_events: deque[tuple[int, str]] = deque()  # (position, room), oldest first
        self._room_events_forgotten = 0  # the newest position dropped from `_room_events`

    def listen_to(self, bus: Bus) -> None:
        """Subscribe to the messages that wake syncs."""
        bus.subscribe(EventsPersisted, self.on_persisted)
        bus.subscribe(EphemeralChanged, self.on_ephemeral)
        bus.subscribe(SessionsRevoked, self.on_sessions_revoked)
        bus.subscribe(DeliveryGap, self.on_gap)

    def on_persisted(self, message: EventsPersisted) -> None:
        self._record(self._last_position, message.position, message.user_ids)
        if message.room_id is not None:
            self._record_room_event(message.position, message.room_id)

    def on_ephemeral(self, message: EphemeralChanged) -> None:
        self._record(self._last_ephemeral, message.serial, message.user_ids)

    def on_sessions_revoked(self, message: SessionsRevoked) -> None:
        user_id = message.user_id
        self._revocations_total += 1
        self._record(self._revocations, self._revocations.get(user_id, 0) + 1, [user_id])

    def on_gap(self, _message: DeliveryGap) -> None:
        """Messages may have been missed: wake every waiting sync, each re-checks its session."""
        self._gaps += 1
        self._revocations_total += 1
        waiters, self._waiters = self._waiters, {}
        room_waiters, self._room_waiters = self._room_waiters, {}
        for futures in (*waiters.values(), *room_waiters.values()):
            for future in futures:
                if not future.done():
                    future.set_result(True)

    def revocation_serial(self, user_id: str) -> int:
        """How many times `user_id`'s sessions were revoked, or may have been (a delivery gap),
        read before checking a session."""
        return self._revocations.get(user_id, 0) + self._gaps

    def revocations_total(self) -> int:
        """Every revocation and delivery gap heard so far (read before a token check)."""
        return self._revocations_total

    def _record(self, last: dict[str, int], value: int, user_ids: Iterable[str]) -> None:
        for user_id in user_ids:
            if last.get(user_id, 0) < value:
                last[user_id] = value
            for future in self._waiters.pop(user_id, ()):
                if not future.done():
                    future.set_result(True)

    def _record_room_event(self, position: int, room_id: str) -> None:
        self._room_events.append((position, room_id))
        if len(self._room_events) > RECENT_ROOM_EVENTS:
            forgotten, _ = self._room_events.popleft()
            self._room_events_forgotten = max(self._room_events_forgotten, forgotten)
        for future in self._room_waiters.pop(room_id, ()):
            if not future.done():
                future.set_result(True)

    def _room_event_after(self, room_id: str, after: int) -> bool:
        """Was an event of `room_id` after `after` announced (or may it have been)?"""
        if after < self._room_events_forgotten:
            return True
        # Every entry: processes announce in their own order, so positions are not sorted.
        return any(room == room_id and position > after for position, room in self._room_events)

    async def wait(
        self,
        user_id: str,
        after: int,
        timeout_s: float,
        *,
        after_ephemeral: int | None = None,
        after_revocation: int | None = None,
        room_id: str | None = None,
    ) -> bool:
        if self._last_position.get(user_id, 0) > after:
            return True
        if room_id is not None and self._room_event_after(room_id, after):
            return True
        if after_revocation is not None and self.revocation_serial(user_id) > after_revocation:
            return True
        if after_ephemeral is not None and self._last_ephemeral.get(user_id, 0) > after_ephemeral:
            return True
        if timeout_s <= 0:
            return False
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._waiters.setdefault(user_id, set()).add(future)
        if room_id is not None:
            self._room_waiters.setdefault(room_id, set()).add(future)
        # The timeout resolves the same future (False): one future and one timer per parked
        # sync, and a wake-up resumes it in the next loop pass (no `wait_for` relay).
        timer = loop.call_later(timeout_s, _expire, future)
        try:
            return await future
        finally:
            timer.cancel()
            _discard(self._waiters, user_id, future)
            if room_id is not None:
                _discard(self._room_waiters, room_id, future)

    def waiting_users(self) -> int:
        """How many users have a sync waiting (for metrics and tests)."""
        return len(self._waiters)

    def waiting_syncs(self) -> int:
        """How many syncs are waiting, over all users (the `syncs_parked` metric)."""
        return sum(len(waiters) for waiters in self._waiters.values())


def _discard(
    waiters: dict[str, set[asyncio.Future[bool]]], key: str, future: asyncio.Future[bool]
) -> None:
    """Forget a finished wait's future (and its key once none is left)."""
    futures = waiters.get(key)
    if futures is not None:
        futures.discard(future)
        if not futures:
            del waiters[key]


def _expire(future: asyncio.Future[bool]) -> None:
    """A parked sync's timeout: it ends without news (unless a wake-up came first)."""
    if not future.done():
        future.set_result(False)
