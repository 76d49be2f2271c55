"""What several processes share, chosen once from `[redis] url`: the bus, typing serials and
rate-limit buckets. Without a URL, all of it stays in this process (MemoryBus, a local serial,
local buckets); with one, the RedisBus and the Redis-backed serial and buckets
(pubsub/redis.py, pubsub/redis_shared.py). Nothing else in the code base tells them apart.

Start-up does not wait for Redis longer than `CONNECT_WAIT_S`: a process that starts while
Redis is down serves anyway (re-checking locally, docs/scaling.md) and connects when it can.
`SharedState.close` stops the bus's tasks and closes the connections (the runtime's close).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bastion.clock import Clock
from bastion.config import Config, RateLimit
from bastion.pubsub.base import Bus
from bastion.pubsub.memory import MemoryBus
from bastion.pubsub.redis import JoinedMembers, RedisBus, RedisState, redis_client
from bastion.pubsub.redis_shared import RedisBuckets, RedisTypingSerials
from bastion.services.ephemeral.typing import LocalTypingSerials, TypingSerials
from bastion.services.ratelimit import AccountLimits, RateLimiter

_log = logging.getLogger(__name__)

CONNECT_WAIT_S = 2.0


@dataclass
class SharedState:
    """The bus and the shared pieces of state, in memory or in Redis."""

    bus: Bus = field(default_factory=MemoryBus)
    redis: RedisBus | None = None
    typing_serials: TypingSerials = field(default_factory=LocalTypingSerials)
    buckets: dict[str, RedisBuckets] = field(default_factory=dict)

    def limiter(self, clock: Clock, limit: RateLimit, name: str) -> RateLimiter:
        """A rate limiter for one kind of limit (`name`), shared between processes if Redis is.
        Asked again for a `name` (an override's limiter made anew after it was dropped), the
        same Redis buckets serve it."""
        if self.redis is None:
            return RateLimiter(clock, limit)
        buckets = self.buckets.get(name)
        if buckets is None:
            buckets = RedisBuckets(self.redis, name, limit, self._connected)
            self.buckets[name] = buckets
        return RateLimiter(clock, limit, shared=buckets)

    def account_limits(self, clock: Clock, limit: RateLimit) -> AccountLimits:
        """The requests-per-account limit with admins' overrides, each shared like the rest."""
        default = self.limiter(clock, limit, "requests")
        return AccountLimits(clock, default, lambda lim, name: self.limiter(clock, lim, name))

    def find_members_with(self, members: JoinedMembers) -> None:
        """Where room events from other processes find their room's members (pubsub/redis.py)."""
        if self.redis is not None:
            self.redis.find_members_with(members)

    def redis_state(self) -> RedisState | None:
        """The link to Redis (/metrics, /ready); None when this process runs without Redis."""
        return None if self.redis is None else self.redis.state()

    async def drain(self) -> None:
        """Wait for the rate-limit updates already sent to Redis (tests)."""
        for buckets in self.buckets.values():
            await buckets.drain()

    async def close(self) -> None:
        if self.redis is not None:
            await self.drain()
            await self.redis.close()

    def _connected(self) -> bool:
        return self.redis is not None and self.redis.state().connected


async def open_shared_state(config: Config) -> SharedState:
    """In-memory without `[redis] url`; else a started RedisBus (connected if Redis answers
    within CONNECT_WAIT_S) and the Redis-backed serials and buckets."""
    if not config.redis.url:
        return SharedState()
    bus = RedisBus(redis_client(config.redis.url))
    bus.start()
    if not await bus.wait_connected(CONNECT_WAIT_S):
        _log.warning(
            "Redis at %s is not reachable (%s); serving anyway, retrying in the background",
            config.redis.url.split("@")[-1],
            bus.state().last_error,
        )
    shared = SharedState(bus=bus, redis=bus)
    shared.typing_serials = RedisTypingSerials(bus, shared._connected)
    return shared
