"""State the processes share in Redis besides the bus: the typing serial and rate-limit buckets.

Both are advisory and never block a request on Redis:
- `RedisTypingSerials.next(floor)` takes the next typing serial from one Redis counter, so a
  serial means the same on every process and a /sync token (`_k<serial>`) stays meaningful
  when the client's next request lands on another process. The counter is never handed out
  below `floor` (the caller's highest serial, so a Redis restart cannot send it backwards).
  While Redis is down, `floor + 1` (this process's own next serial) is used instead.
- `RedisBuckets` keeps one token bucket per key in a Redis hash, refilled from Redis's own
  clock (TIME) so every process agrees on it, updated by one Lua script (atomic). The limiter
  decides locally and at once (services/ratelimit.py); each consumption is then sent to Redis
  in the background and the shared level replaces the local one when the reply comes. A
  process therefore lags the others by at most the actions in flight: it may allow one action
  per key beyond the shared limit, never more, and it never waits for Redis. While Redis is
  down nothing is sent and each process limits on its own.

Both talk to Redis only through `RedisBus.command` (pubsub/redis.py), so closing the bus
cancels what they still have in flight and no connection outlives it; once the bus is closed
they behave as while Redis is down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from redis.exceptions import RedisError

from bastion.config import RateLimit
from bastion.pubsub.redis import RedisBus

_log = logging.getLogger(__name__)
_ERRORS = (RedisError, OSError, TimeoutError)

TYPING_SERIAL_KEY = "bastion:typing:serial"

_NEXT_SERIAL = """
local floor = tonumber(ARGV[1])
local serial = redis.call('INCR', KEYS[1])
if serial <= floor then
  serial = floor + 1
  redis.call('SET', KEYS[1], serial)
end
return serial
"""

# KEYS[1]: the bucket; ARGV: per_second, burst, cost. Returns the tokens left, as a string
# (Lua numbers become integers in replies).
_TAKE = """
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(saved[1]), tonumber(saved[2])
if tokens == nil or at == nil then tokens, at = burst, now end
tokens = math.min(burst, tokens + (now - at) * rate) - cost
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
local full_in = 3600
if rate > 0 then full_in = math.ceil((burst - tokens) / rate) + 1 end
redis.call('EXPIRE', KEYS[1], math.max(1, full_in))
return tostring(tokens)
"""


class RedisTypingSerials:
    """Typing serials from one Redis counter (services/ephemeral/typing.py's `TypingSerials`)."""

    def __init__(self, bus: RedisBus, is_connected: Callable[[], bool]) -> None:
        self._bus = bus
        self._script = bus.register_script(_NEXT_SERIAL)
        self._is_connected = is_connected

    async def next(self, floor: int) -> int:
        if self._is_connected():
            try:
                serial = await self._bus.command(
                    lambda client: self._script(
                        keys=[TYPING_SERIAL_KEY], args=[floor], client=client
                    )
                )
                return int(serial)
            except _ERRORS as exc:
                _log.warning("typing serial from Redis failed (%s); using a local one", exc)
        return floor + 1


class RedisBuckets:
    """One kind of limit's buckets in Redis (services/ratelimit.py's `SharedBuckets`)."""

    def __init__(
        self,
        bus: RedisBus,
        name: str,
        limit: RateLimit,
        is_connected: Callable[[], bool],
    ) -> None:
        self._bus = bus
        self._prefix = f"bastion:ratelimit:{name}:"
        self._limit = limit
        self._script = bus.register_script(_TAKE)
        self._is_connected = is_connected
        self._in_flight: set[asyncio.Task[None]] = set()

    def consumed(self, key: str, update: Callable[[float], None]) -> None:
        if self._is_connected():
            self._spawn(self._take(key, update))

    def forgotten(self, key: str) -> None:
        if self._is_connected():
            self._spawn(self._forget(key))

    async def drain(self) -> None:
        """Wait for every update sent so far (tests; shutdown)."""
        while self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _take(self, key: str, update: Callable[[float], None]) -> None:
        keys, args = [self._prefix + key], [self._limit.per_second, self._limit.burst, 1]
        try:
            left = await self._bus.command(
                lambda client: self._script(keys=keys, args=args, client=client)
            )
        except _ERRORS as exc:
            _log.debug("shared rate limit update failed: %s", exc)
            return
        update(float(left))

    async def _forget(self, key: str) -> None:
        try:
            await self._bus.command(lambda client: client.delete(self._prefix + key))
        except _ERRORS as exc:
            _log.debug("shared rate limit reset failed: %s", exc)
