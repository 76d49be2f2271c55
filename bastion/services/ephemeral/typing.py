"""Typing notifications (spec: client-server-api#typing-notifications).

Kept in memory only: they are worth nothing after a few seconds. Each change, including a
typing notice timing out, takes a new `serial` and wakes the room's members; /sync tokens carry
the serial they have seen (`_k<serial>`), so a sync reports the rooms whose typers changed since.

Several processes: a change travels on the bus as `TypingChanged` and every process (this one
at once, through local delivery) applies it to its own copy of who types where, so a /sync
reads typing from memory wherever it lands, with no Redis round trip. Why not Redis keys with
an expiry: every /sync would then read Redis, a notice's expiry would have no one to wake the
members, and an outage would take typing down; over the bus an outage only delays other
processes' view. Serials come from `TypingSerials`: a local counter in one process, one Redis
counter shared by all (pubsub/redis_shared.py), so a serial means the same change everywhere
and a token stays valid when the client's next /sync lands on another process. `serial` is the
highest serial this process has applied: it never goes back. Limits (docs/scaling.md):
- a change still in flight to process B when B answers a /sync with a higher serial is missed
  by that client until the room's typing changes again (a window of the bus latency);
- a token with a serial above this process's (it has not caught up yet, or restarted) makes
  the sync report every room with typers, once;
- the timeout is enforced by the process that received the PUT (its timer publishes the stop);
  if it dies first, other processes hide the notice when it expires (`typers` filters on the
  expiry) but nobody is woken for it.
In one process a restart resets the serial; a token from before it is treated as having seen
nothing.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.pubsub.base import Bus
from bastion.pubsub.messages import EphemeralChanged, TypingChanged
from bastion.services.members_cache import RoomMembersCache
from bastion.services.principal import Requester

MAX_TYPING_TIMEOUT_MS = 120_000
DEFAULT_TYPING_TIMEOUT_MS = 30_000


class TypingSerials(Protocol):
    """Where typing serials come from."""

    async def next(self, floor: int) -> int:
        """A serial above `floor` (this process's latest) and above every one handed out."""
        ...


class LocalTypingSerials:
    """One process: the next integer."""

    async def next(self, floor: int) -> int:
        return floor + 1


class TypingService:
    """Who is typing in which room, and since which serial."""

    def __init__(
        self,
        members: RoomMembersCache,
        bus: Bus,
        clock: Clock,
        serials: TypingSerials | None = None,
    ) -> None:
        self._members = members
        self._bus = bus
        self._clock = clock
        self._serials = serials or LocalTypingSerials()
        self.serial = 0
        self._typing: dict[str, dict[str, float]] = {}  # room -> user -> expiry (monotonic)
        self._set_at: dict[tuple[str, str], int] = {}  # (room, user) -> serial of its last change
        self._changed_at: dict[str, int] = {}  # room -> serial of its last change
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}

    def listen_to(self, bus: Bus) -> None:
        """Apply every process's typing changes (this one's included) as the bus brings them."""
        bus.subscribe(TypingChanged, self.on_changed)

    async def set_typing(
        self, requester: Requester, room_id: str, user_id: str, *, typing: bool, timeout_ms: int
    ) -> None:
        """`PUT /rooms/{roomId}/typing/{userId}`: only for oneself, only in a joined room."""
        if user_id != requester.user_id:
            raise MatrixError(403, Errcode.FORBIDDEN, "you can only set your own typing state")
        if requester.shadow_banned:
            return  # answered, shown to no one (services/shadow_ban.py); not logged: too frequent
        if user_id not in await self._members.joined(room_id):
            raise MatrixError(403, Errcode.FORBIDDEN, "you are not in this room")
        key = (room_id, user_id)
        if (timer := self._timers.pop(key, None)) is not None:
            timer.cancel()
        if not typing:
            if user_id in self._typing.get(room_id, {}):
                await self._changed(room_id, user_id, 0)
            return
        seconds = max(0, min(timeout_ms, MAX_TYPING_TIMEOUT_MS)) / 1000
        serial = await self._changed(room_id, user_id, max(1, int(seconds * 1000)))
        self._timers[key] = asyncio.get_running_loop().call_later(
            seconds, self._expire, room_id, user_id, serial
        )

    def _expire(self, room_id: str, user_id: str, serial: int) -> None:
        key = (room_id, user_id)
        self._timers.pop(key, None)
        if self._set_at.get(key) == serial:  # not renewed since, here or elsewhere
            self._task = asyncio.ensure_future(self._changed(room_id, user_id, 0))

    async def _changed(self, room_id: str, user_id: str, timeout_ms: int) -> int:
        """Publish the change (applied here by the bus at once); wake the room's members."""
        serial = await self._serials.next(self.serial)
        self._bus.publish(TypingChanged(serial, room_id, user_id, timeout_ms))
        joined = await self._members.joined(room_id)
        self._bus.publish(EphemeralChanged(serial, frozenset(joined)))
        return serial

    def on_changed(self, message: TypingChanged) -> None:
        """Apply a typing change, from this process or another."""
        room_id, user_id, key = message.room_id, message.user_id, (message.room_id, message.user_id)
        if self._set_at.get(key, 0) > message.serial:
            return  # a newer change of the same notice already applied
        self._set_at[key] = message.serial
        typers = self._typing.setdefault(room_id, {})
        if message.timeout_ms > 0:
            typers[user_id] = self._clock.monotonic() + message.timeout_ms / 1000
        else:
            typers.pop(user_id, None)
        self._changed_at[room_id] = max(self._changed_at.get(room_id, 0), message.serial)
        self.serial = max(self.serial, message.serial)

    def typers(self, room_id: str) -> list[str]:
        """Users typing in the room now."""
        now = self._clock.monotonic()
        return sorted(u for u, expiry in self._typing.get(room_id, {}).items() if expiry > now)

    def rooms_changed_since(self, serial: int | None) -> set[str]:
        """Rooms whose typers changed after `serial` (all rooms with typers when None)."""
        if serial is None or serial > self.serial:
            return {room for room, typers in self._typing.items() if typers}
        return {room for room, at in self._changed_at.items() if at > serial}
