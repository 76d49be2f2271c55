"""`GET /health` (liveness) and `GET /ready` (readiness: database, and Redis when configured).

Neither is in the Matrix spec; their contract is docs/operations.md#health-and-readiness:
"/health answers 200 while the process runs; /ready answers 200 only when the database (and
Redis, when configured) answer, else 503 naming the check that failed. Both are
unauthenticated and never a 500."
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from bastion.config import RedisConfig
from tests.conftest import Homeserver, homeserver_with

REDIS_URL_VAR = "BASTION_TEST_REDIS_URL"


async def test_health_is_ok_without_a_token(hs: Homeserver) -> None:
    """ "/health answers 200 while the process runs" (no token, nothing touched)."""
    resp = await hs.http.get("/health")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}
    assert resp.headers["cache-control"] == "no-store"


async def test_ready_checks_the_database(hs: Homeserver) -> None:
    """ "/ready answers 200 only when the database answers": a trivial query, no token."""
    resp = await hs.http.get("/ready")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"status": "ready", "checks": {"database": "ok"}}


async def test_ready_is_503_naming_the_database_when_it_is_gone(hs: Homeserver) -> None:
    """ "else 503 naming the check that failed" and "never a 500": the database closed under
    the server (as if it went away) is a 503 with the database check failed."""
    await hs.runtime.db.close()
    resp = await hs.http.get("/ready")
    assert resp.status_code == 503
    body = resp.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"].startswith("failed: ")
    health = await hs.http.get("/health")
    assert health.status_code == 200  # liveness does not depend on the database


async def test_ready_is_503_naming_redis_when_it_is_unreachable(
    tmp_path: Path, database_config: Any
) -> None:
    """ "and Redis, when configured": nothing listens on port 1, so the Redis check fails while
    the database check passes."""
    redis = RedisConfig(url="redis://127.0.0.1:1/0")
    async with homeserver_with(tmp_path, database_config, redis=redis) as hs:
        resp = await hs.http.get("/ready")
    assert resp.status_code == 503
    checks = resp.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["redis"].startswith("failed: ")


async def test_ready_passes_with_a_reachable_redis(tmp_path: Path, database_config: Any) -> None:
    """ "/ready answers 200 only when the database (and Redis, when configured) answer"."""
    url = os.environ.get(REDIS_URL_VAR)
    if not url:
        pytest.skip(f"{REDIS_URL_VAR} is not set (run under scripts/with-redis)")
    async with homeserver_with(tmp_path, database_config, redis=RedisConfig(url=url)) as hs:
        resp = await hs.http.get("/ready")
    assert resp.status_code == 200, resp.text
    assert resp.json()["checks"] == {"database": "ok", "redis": "ok"}
