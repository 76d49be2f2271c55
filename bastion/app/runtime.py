"""The runtime: an open, migrated database and the services wired on it.

`Runtime.open` is what tests, benchmarks and `bastion serve` share: open the database, apply
pending migrations and start-up backfills, load the stream position, then wire (wiring.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bastion.api.context import Services
from bastion.app.wiring import Wiring
from bastion.clock import Clock, SystemClock
from bastion.config import Config
from bastion.events.builder import ServerIdentity
from bastion.pubsub.memory import MemoryNotifier
from bastion.server_key import load_key
from bastion.services.directory.user_index import UserDirectoryIndex
from bastion.services.rooms.redaction import prune_redacted_backlog
from bastion.services.search.indexer import backfill_index
from bastion.store.database import Database, open_database
from bastion.store.migrations.runner import migrate
from bastion.store.sql.events import SqlEventStore
from bastion.store.sql.rooms import SqlRoomStore
from bastion.store.sql.search import search_store_for
from bastion.store.sql.user_directory import SqlUserDirectoryStore
from bastion.store.stream import StreamPositions


@dataclass
class Runtime:
    """An open database and the services built on it."""

    config: Config
    db: Database
    services: Services
    notifier: MemoryNotifier
    positions: StreamPositions  # the one stream counter (tests hold positions in flight)

    @classmethod
    async def open(cls, config: Config, clock: Clock | None = None) -> Runtime:
        """Open the database, migrate it, and wire the services."""
        clock = clock or SystemClock()
        key = load_key(Path(config.signing_key_path))
        db = await open_database(
            config.database.url,
            schema=config.database.schema,
            pool_size=config.database.pool_size,
            sqlite_synchronous=config.database.sqlite_synchronous,
        )
        try:
            await migrate(db, clock.now_ms())
            await backfill_index(db, search_store_for(db.dialect))
            await UserDirectoryIndex(SqlUserDirectoryStore()).backfill(db)
            await prune_redacted_backlog(db, SqlEventStore(), SqlRoomStore(), now_ms=clock.now_ms())
            positions = await StreamPositions.load(db)
        except BaseException:
            await db.close()
            raise
        notifier = MemoryNotifier()
        wiring = Wiring(
            config, db, clock, positions, notifier, ServerIdentity(config.server_name, key)
        )
        return cls(config, db, wiring.services(), notifier, positions)

    async def close(self) -> None:
        """Close the database."""
        await self.db.close()
