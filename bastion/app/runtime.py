"""The runtime: an open, migrated database and the services wired on it.

`Runtime.open` is what tests, benchmarks and `bastion serve` share: open the database, apply
pending migrations, run the start-up backfill jobs to completion (resumable, workers/backfills.py),
load the stream position, then wire (wiring.py). It starts no background task: `workers()` builds
the registry of background workers, and only the serving app's lifespan starts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bastion.api.context import Services
from bastion.app.leases import worker_leases
from bastion.app.metrics import EventsSentCounter
from bastion.app.positions import close_positions, open_positions, readable_bus
from bastion.app.redis_wiring import SharedState, open_shared_state
from bastion.app.wiring import Wiring
from bastion.clock import Clock, SystemClock
from bastion.config import Config, ConfigError
from bastion.errors import MatrixError
from bastion.events.builder import ServerIdentity
from bastion.pubsub.base import Bus
from bastion.pubsub.wakeups import SyncWakeups
from bastion.server_key import load_key
from bastion.services.directory.user_index import UserDirectoryIndex
from bastion.services.event_hooks import EventHook
from bastion.store.database import Database
from bastion.store.migrations.runner import migrate
from bastion.store.opening import open_database
from bastion.store.sql.events import SqlEventStore
from bastion.store.sql.media_references import SqlMediaReferenceStore
from bastion.store.sql.rooms import SqlRoomStore
from bastion.store.sql.search import search_store_for
from bastion.store.sql.user_directory import SqlUserDirectoryStore
from bastion.store.stream import PositionAllocator
from bastion.workers.appservice_delivery import AppServiceWorker
from bastion.workers.backfills import (
    STARTUP_BACKFILLS,
    MediaReferenceBackfill,
    RedactionBacklogPrune,
    SearchIndexBackfill,
    UserDirectoryBackfill,
)
from bastion.workers.base import run_to_completion
from bastion.workers.exports import ExportWorker
from bastion.workers.history_purge import HistoryPurgeWorker
from bastion.workers.moderation_jobs import RedactionJobsWorker
from bastion.workers.offboarding import OffboardingResumer
from bastion.workers.presence_expiry import PresenceExpiryWorker
from bastion.workers.push_delivery import PushDeliveryWorker
from bastion.workers.registry import WorkerRegistry
from bastion.workers.retention_purge import RetentionPurgeWorker
from bastion.workers.room_deletion import RoomDeletionWorker


@dataclass
class Runtime:
    """An open database and the services built on it."""

    config: Config
    db: Database
    services: Services
    bus: Bus
    positions: PositionAllocator  # the stream counter (tests hold positions in flight)
    clock: Clock
    wakeups: SyncWakeups  # the long-polling syncs (tests count them)
    # The bus and what else processes share (in memory without [redis] url): redis_wiring.py;
    # `shared.redis_state()` is the link to Redis for /metrics and /ready.
    shared: SharedState = field(default_factory=SharedState)

    @classmethod
    async def open(
        cls, config: Config, clock: Clock | None = None, *, event_hooks: Sequence[EventHook] = ()
    ) -> Runtime:
        """Open the database, migrate it, and wire the services (with `event_hooks` after the
        built-in ones: see services/event_hooks.py)."""
        clock = clock or SystemClock()
        key = load_key(Path(config.signing_key_path))
        db = await open_database(
            config.database.url,
            schema=config.database.schema,
            pool_size=config.database.pool_size,
            sqlite_synchronous=config.database.sqlite_synchronous,
        )
        shared = await open_shared_state(config)
        bus = shared.bus
        try:
            await migrate(db, clock.now_ms())
            # Blocking on purpose: a search before the index backfill ends would miss old events.
            # One process at a time: processes starting together after an upgrade wait for the
            # first to finish, then each job finds nothing left (one query each).
            async with db.exclusive(STARTUP_BACKFILLS):
                for job in (
                    SearchIndexBackfill(db, search_store_for(db.dialect)),
                    UserDirectoryBackfill(db, UserDirectoryIndex(SqlUserDirectoryStore())),
                    RedactionBacklogPrune(db, SqlEventStore(), SqlRoomStore(), clock),
                    MediaReferenceBackfill(db, SqlMediaReferenceStore(), config.server_name),
                ):
                    await run_to_completion(job)
            positions = await open_positions(config, db, bus)  # shared: app/positions.py
        except BaseException:
            await shared.close()
            await db.close()
            raise
        wakeups = SyncWakeups()  # long-polling syncs, woken by what the bus carries
        wakeups.listen_to(readable_bus(bus, positions))  # app/positions.py
        wiring = Wiring(
            config, db, clock, positions, bus, ServerIdentity(config.server_name, key),
            wakeups=wakeups, event_hooks=(*event_hooks, EventsSentCounter()), shared=shared,
        )  # fmt: skip
        services = wiring.services()
        try:
            await services.policy.seed(dict(config.policy))
            await services.appservices.ensure_senders()  # each service's own user exists
        except MatrixError as exc:
            await close_positions(positions)
            await shared.close()
            await db.close()
            raise ConfigError(f"[policy] or [appservices]: {exc.message}") from None
        return cls(config, db, services, bus, positions, clock, wakeups, shared)

    def workers(self) -> WorkerRegistry:
        """The background workers `bastion serve` runs, in start order (none started here)."""
        leases = worker_leases(self.config, self.db.dialect)  # exactly once across processes
        registry = WorkerRegistry(self.clock, leases=leases)
        presence = self.services.presence
        if presence.enabled:
            interval_s = self.config.presence.expiry_interval_seconds
            registry.add(PresenceExpiryWorker(presence, self.clock, interval_s=interval_s))
        registry.add(PushDeliveryWorker(self.services.push_delivery))
        if any(r.url is not None for r in self.services.appservices.registry.all):
            registry.add(AppServiceWorker(self.services.appservices.delivery))
        registry.add(OffboardingResumer(self.services.offboarding, self.clock))
        registry.add(RoomDeletionWorker(self.services.room_deletion, self.clock))
        redactions = self.services.redactions
        registry.add(
            RedactionJobsWorker(self.services.redaction_jobs, redactions.work_added, self.clock)
        )
        registry.add(RetentionPurgeWorker(self.services.retention_purge, self.clock))
        registry.add(HistoryPurgeWorker(self.services.history_purges, self.clock))
        registry.add(ExportWorker(self.services.exports, self.clock))
        return registry

    async def close(self) -> None:
        """Close the application services' and identity providers' HTTP clients, the
        connections to Redis (if any), then the database."""
        await self.services.appservices.close()
        await self.services.sso.close()
        await close_positions(self.positions)
        await self.shared.close()
        await self.db.close()
