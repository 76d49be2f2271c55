"""Redis for tests: the server scripts/with-redis started (BASTION_TEST_REDIS_URL), buses on a
channel of their own per test, and a server a test starts, stops and restarts itself
(BASTION_TEST_REDIS_SERVER). Tests that need Redis skip without those variables."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from redis.exceptions import RedisError

from bastion.pubsub.redis import Backoff, RedisBus, redis_client

REDIS_URL_VAR = "BASTION_TEST_REDIS_URL"
REDIS_SERVER_VAR = "BASTION_TEST_REDIS_SERVER"
# Long enough that no re-check fires during a test by chance; the outage test sets its own.
QUIET_RECHECK_S = 600.0


def redis_url() -> str:
    """The test Redis, or skip (run under scripts/with-redis)."""
    url = os.environ.get(REDIS_URL_VAR)
    if not url:
        pytest.skip(f"{REDIS_URL_VAR} is not set (run under scripts/with-redis)")
    return url


def new_channel() -> str:
    return f"bastion-test:{uuid.uuid4().hex}"


@asynccontextmanager
async def started_buses(
    url: str, count: int, *, recheck_interval_s: float = QUIET_RECHECK_S
) -> AsyncIterator[list[RedisBus]]:
    """`count` buses (as if in `count` processes) on one fresh channel, connected."""
    channel = new_channel()
    buses = [
        RedisBus(
            redis_client(url),
            channel=channel,
            recheck_interval_s=recheck_interval_s,
            backoff=Backoff(first_s=0.02, max_s=0.2),
        )
        for _ in range(count)
    ]
    for bus in buses:
        bus.start()
    try:
        for bus in buses:
            assert await bus.wait_connected(5.0)
        yield buses
    finally:
        for bus in buses:
            await bus.close()


async def eventually(condition: Callable[[], bool], *, timeout_s: float = 5.0) -> None:
    """Until `condition()` holds: messages cross Redis on the real event loop (a bounded wait
    on a condition, not a sleep for a fixed time)."""
    for _ in range(int(timeout_s / 0.005)):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"still false after {timeout_s} s: {condition}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class OwnRedis:
    """A redis-server this test starts and stops on a port of its own."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                "--appendonly", "no", "--dir", str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

    async def ready(self) -> None:
        client = redis_client(self.url)
        try:
            async with asyncio.timeout(10):
                while True:
                    try:
                        if await client.ping():
                            return
                    except (RedisError, OSError):
                        pass  # not up yet
                    await asyncio.sleep(0.02)
        finally:
            await client.aclose()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def own_redis_binary() -> str:
    binary = os.environ.get(REDIS_SERVER_VAR)
    if not binary:
        pytest.skip(f"{REDIS_SERVER_VAR} is not set (run under scripts/with-redis)")
    return binary
