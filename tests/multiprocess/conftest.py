"""Fixtures for the multiprocess tests: skipped unless PostgreSQL and Redis are available
(BASTION_TEST_PG_DSN and BASTION_TEST_REDIS_URL, set by scripts/with-postgres and
scripts/with-redis; `make test` sets both)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.multiprocess.cluster import REDIS_URL_VAR, Cluster, drop_schema, services_missing


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    """A homeserver on PostgreSQL + the shared Redis; processes are added by the test."""
    if (why := services_missing()) is not None:
        pytest.skip(why)
    made = Cluster(tmp_path / "bastion", redis_url=os.environ[REDIS_URL_VAR])
    try:
        yield made
    finally:
        await made.close_clients()
        made.stop_all()
        await drop_schema(made.schema)
    if not made.allow_tracebacks:
        assert "Traceback" not in made.logs(), made.logs()
