"""The readiness checks behind `GET /ready` (api/health.py): the database and, when configured,
Redis, each bounded by `CHECK_TIMEOUT_S` so a hung dependency gives 503, never a hung probe.

A check never raises: its outcome is `ok` or `failed: <exception type>: <message>` (a driver's
message names a host, never a password). Redis gets a PING through the bus's own connection
pool (pubsub/redis.py), so a probe opens no connection of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from bastion.api.health import OK
from bastion.pubsub.redis import RedisBus
from bastion.store.database import Database

CHECK_TIMEOUT_S = 2.0

log = logging.getLogger(__name__)


def _failed(exc: BaseException) -> str:
    detail = " ".join(str(exc).split())
    kind = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
    return f"failed: {kind}: {detail}" if detail else f"failed: {kind}"


class RuntimeReadiness:
    """`Readiness` for one process: its database pool and the configured Redis."""

    def __init__(
        self, db: Database, redis: RedisBus | None, *, timeout_s: float = CHECK_TIMEOUT_S
    ) -> None:
        self._db = db
        self._redis = redis
        self._timeout_s = timeout_s

    async def check(self) -> dict[str, str]:
        checks = {"database": await self._bounded(self._check_database())}
        if self._redis is not None:
            checks["redis"] = await self._bounded(self._check_redis(self._redis))
        for name, outcome in checks.items():
            if outcome != OK:
                log.warning("not ready: %s %s", name, outcome)
        return checks

    async def _bounded(self, probe: Coroutine[Any, Any, None]) -> str:
        try:
            await asyncio.wait_for(probe, self._timeout_s)
        except Exception as exc:
            return _failed(exc)
        return OK

    async def _check_database(self) -> None:
        if await self._db.fetch_val("SELECT 1") != 1:
            raise RuntimeError("SELECT 1 did not return 1")

    async def _check_redis(self, redis: RedisBus) -> None:
        await redis.ping()
