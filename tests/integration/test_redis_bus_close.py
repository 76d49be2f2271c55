"""Closing the Redis bus (pubsub/redis.py) leaves no connection of its pool open, whatever was
running on it: a full-suite run once failed a later, unrelated test with "unclosed Connection"
(redis.asyncio), "unclosed transport" and "loop is closed" ResourceWarnings, when the garbage
collector found a connection that a rate-limit update still in flight had opened while the bus
of an earlier test closed its pool.

pubsub/redis.py: "`close` first refuses new commands (and reports the bus disconnected, so
redis_shared.py stops sending), then cancels the loops and the commands still running and waits
until each has ended, and only then closes the pool: no connection is opened after the pool
closed, so none is left open, whether the close comes after an outage, during a reconnection or
while commands are in flight." Skipped without BASTION_TEST_REDIS_URL (scripts/with-redis).
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from bastion.app.redis_wiring import SharedState
from bastion.clock import FakeClock
from bastion.config import RateLimit
from bastion.pubsub.redis import Backoff, RedisBus
from bastion.pubsub.redis_shared import RedisTypingSerials
from bastion.services.ratelimit import RateLimiter
from tests.redis_support import (
    QUIET_RECHECK_S,
    OwnRedis,
    eventually,
    new_channel,
    own_redis_binary,
    redis_url,
)

IN_FLIGHT = 20  # rate-limit updates sent at once, each on a connection of its own


class NamedBus:
    """A bus whose connections carry a name of their own, so the test can find them."""

    def __init__(self, url: str) -> None:
        self.name = f"bastion-test-{uuid.uuid4().hex}"
        client = aioredis.Redis.from_url(
            url, client_name=self.name, socket_connect_timeout=2.0, retry=Retry(NoBackoff(), 0)
        )
        self.bus = RedisBus(
            client,
            channel=new_channel(),
            recheck_interval_s=QUIET_RECHECK_S,
            backoff=Backoff(first_s=0.02, max_s=0.2),
        )
        self.shared = SharedState(bus=self.bus, redis=self.bus)
        self.limiter: RateLimiter = self.shared.limiter(
            FakeClock(), RateLimit(per_second=1, burst=1000), f"test-{uuid.uuid4().hex}"
        )
        self.serials = RedisTypingSerials(self.bus, lambda: self.bus.state().connected)

    def open_connections(self) -> list[AbstractConnection]:
        """This bus's redis-py connections whose socket is still open (every live one)."""
        return [
            obj
            for obj in gc.get_objects()
            if isinstance(obj, AbstractConnection)
            and obj.client_name == self.name
            and obj.is_connected
        ]

    def send_updates(self) -> None:
        for n in range(IN_FLIGHT):
            self.limiter.hit(f"@user{n}:x")  # each sent to Redis in the background

    async def use_after_close(self) -> None:
        """What requests still running while the process shuts down may do: all local now."""
        self.limiter.hit("@late:x")
        assert await self.serials.next(41) == 42  # this process's own next serial
        with pytest.raises(RedisConnectionError):
            await self.bus.ping()  # /ready
        await self.shared.drain()


async def test_a_bus_closed_with_commands_in_flight_leaves_no_connection_open() -> None:
    named = NamedBus(redis_url())
    named.bus.start()
    assert await named.bus.wait_connected(5.0)
    named.send_updates()
    await named.bus.close()
    await named.use_after_close()
    assert named.open_connections() == []


@asynccontextmanager
async def _through_an_outage(tmp_path: Path) -> AsyncIterator[NamedBus]:
    """A started bus whose own Redis server was killed and started again: yielded once the
    server answers again (the bus may still be retrying, with backoff); the server is killed
    at the end."""
    server = OwnRedis(own_redis_binary(), tmp_path)
    server.start()
    try:
        await server.ready()
        named = NamedBus(server.url)
        named.bus.start()
        assert await named.bus.wait_connected(5.0)
        server.kill()
        await eventually(lambda: not named.bus.state().connected)
        server.start()
        await server.ready()
        yield named
    finally:
        server.kill()


async def test_a_bus_closed_after_an_outage_leaves_no_connection_open(tmp_path: Path) -> None:
    async with _through_an_outage(tmp_path) as named:
        assert await named.bus.wait_connected(10.0)  # reconnected
        named.send_updates()
        await named.bus.close()
        await named.use_after_close()
        assert named.open_connections() == []


async def test_a_close_racing_a_reconnection_leaves_no_connection_open(tmp_path: Path) -> None:
    async with _through_an_outage(tmp_path) as named:  # the bus is retrying meanwhile
        await named.bus.close()
        await named.use_after_close()
        assert named.open_connections() == []
