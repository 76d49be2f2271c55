"""A migrated, empty database per test, on each backend (see `database_config`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bastion.config import DatabaseConfig
from bastion.store.database import Database
from bastion.store.migrations.runner import migrate
from bastion.store.opening import open_database

NOW = 1_700_000_000_000


async def open_db(cfg: DatabaseConfig) -> Database:
    return await open_database(cfg.url, schema=cfg.schema, pool_size=cfg.pool_size)


@pytest.fixture
async def empty_db(database_config: DatabaseConfig) -> AsyncIterator[Database]:
    """A database with no tables at all."""
    db = await open_db(database_config)
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
async def db(empty_db: Database) -> Database:
    """A database at the latest schema version, with no rows."""
    await migrate(empty_db, NOW)
    return empty_db
