"""Typing notifications (spec: client-server-api#typing-notifications).

Kept in memory only: they are worth nothing after a few seconds. Each change, including a
typing notice timing out, bumps `serial` and wakes the room's members; /sync tokens carry the
serial they have seen (`_k<serial>`), so a sync reports the rooms whose typers changed since.
A restart resets the serial; a token from before it is treated as having seen nothing.
"""

from __future__ import annotations

import asyncio

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.pubsub.base import Bus
from bastion.pubsub.messages import EphemeralChanged
from bastion.services.members_cache import RoomMembersCache
from bastion.services.principal import Requester

MAX_TYPING_TIMEOUT_MS = 120_000
DEFAULT_TYPING_TIMEOUT_MS = 30_000


class TypingService:
    """Who is typing in which room, and since which serial."""

    def __init__(self, members: RoomMembersCache, bus: Bus, clock: Clock) -> None:
        self._members = members
        self._bus = bus
        self._clock = clock
        self.serial = 0
        self._typing: dict[str, dict[str, float]] = {}  # room -> user -> expiry (monotonic)
        self._changed_at: dict[str, int] = {}  # room -> serial of its last change
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}

    async def set_typing(
        self, requester: Requester, room_id: str, user_id: str, *, typing: bool, timeout_ms: int
    ) -> None:
        """`PUT /rooms/{roomId}/typing/{userId}`: only for oneself, only in a joined room."""
        if user_id != requester.user_id:
            raise MatrixError(403, Errcode.FORBIDDEN, "you can only set your own typing state")
        if user_id not in await self._members.joined(room_id):
            raise MatrixError(403, Errcode.FORBIDDEN, "you are not in this room")
        key = (room_id, user_id)
        if (timer := self._timers.pop(key, None)) is not None:
            timer.cancel()
        typers = self._typing.setdefault(room_id, {})
        if typing:
            seconds = max(0, min(timeout_ms, MAX_TYPING_TIMEOUT_MS)) / 1000
            typers[user_id] = self._clock.monotonic() + seconds
            self._timers[key] = asyncio.get_running_loop().call_later(
                seconds, self._expire, room_id, user_id
            )
        elif typers.pop(user_id, None) is None:
            return
        await self._changed(room_id)

    def _expire(self, room_id: str, user_id: str) -> None:
        self._timers.pop((room_id, user_id), None)
        if self._typing.get(room_id, {}).pop(user_id, None) is not None:
            self._task = asyncio.ensure_future(self._changed(room_id))

    async def _changed(self, room_id: str) -> None:
        self.serial += 1
        self._changed_at[room_id] = self.serial
        joined = await self._members.joined(room_id)
        self._bus.publish(EphemeralChanged(self.serial, frozenset(joined)))

    def typers(self, room_id: str) -> list[str]:
        """Users typing in the room now."""
        now = self._clock.monotonic()
        return sorted(u for u, expiry in self._typing.get(room_id, {}).items() if expiry > now)

    def rooms_changed_since(self, serial: int | None) -> set[str]:
        """Rooms whose typers changed after `serial` (all rooms with typers when None)."""
        if serial is None or serial > self.serial:
            return {room for room, typers in self._typing.items() if typers}
        return {room for room, at in self._changed_at.items() if at > serial}
