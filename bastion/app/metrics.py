"""The process's metrics wired to the runtime (observability/metrics.py has the definitions).

- `EventsSentCounter`: an event hook counting every room event this process commits.
- `GaugeSampler`: the gauges only the runtime knows (syncs parked, database pool, Redis link).
- `ProcessMetrics`: started by `bastion serve`'s lifespan; runs the sampler every
  `SAMPLE_INTERVAL_S` on the clock, and, when this process serves alone (no multiprocess
  directory: with `--workers N` the supervisor serves the sum) and `[metrics] port` is set,
  runs the metrics listener.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from typing_extensions import override

from bastion.clock import Clock
from bastion.config import Config
from bastion.observability.metrics import (
    MetricsListener,
    metrics,
    multiprocess_directory,
    start_metrics_listener,
)
from bastion.pubsub.redis import RedisState
from bastion.pubsub.wakeups import SyncWakeups
from bastion.services.event_hooks import CommittedEvent, EventHook
from bastion.store.database import Database
from bastion.store.postgres import PostgresDatabase
from bastion.workers.base import Supervisor

SAMPLE_INTERVAL_S = 5.0

log = logging.getLogger(__name__)


class EventsSentCounter(EventHook):
    """Counts each committed room event (`bastion_events_sent_total`)."""

    @override
    async def committed(self, committed: CommittedEvent) -> None:
        metrics().events_sent.inc()


class GaugeSampler:
    """Sets the gauges read from the runtime: syncs parked, the database pool, the Redis link
    (`redis_state`: None without Redis; its reconnect count becomes the counter's increments)."""

    def __init__(
        self,
        db: Database,
        wakeups: SyncWakeups,
        redis_state: Callable[[], RedisState | None] = lambda: None,
    ) -> None:
        self._db = db
        self._wakeups = wakeups
        self._redis_state = redis_state
        self._reconnects_seen = 0

    def sample(self) -> None:
        found = metrics()
        found.syncs_parked.set(self._wakeups.waiting_syncs())
        if isinstance(self._db, PostgresDatabase):
            size, in_use = self._db.pool_usage()
            found.db_pool_size.set(size)
            found.db_pool_in_use.set(in_use)
        state = self._redis_state()
        if state is not None:
            found.redis_connected.set(1 if state.connected else 0)
            if state.reconnects > self._reconnects_seen:
                found.redis_reconnects.inc(state.reconnects - self._reconnects_seen)
                self._reconnects_seen = state.reconnects


class _SamplingWorker:
    """Samples every `SAMPLE_INTERVAL_S` (one per process, never leased: each has its own)."""

    name = "metrics sampler"

    def __init__(self, sampler: GaugeSampler, clock: Clock) -> None:
        self._sampler = sampler
        self._clock = clock

    async def run_once(self) -> None:
        self._sampler.sample()

    async def wait_next(self) -> None:
        await self._clock.sleep(SAMPLE_INTERVAL_S)

    async def close(self) -> None:
        """Nothing to release."""


class ProcessMetrics:
    """The gauge sampler and (alone, when configured) the metrics listener of one process."""

    def __init__(self, config: Config, sampler: GaugeSampler, clock: Clock) -> None:
        self._config = config
        self._sampler = Supervisor(_SamplingWorker(sampler, clock), clock)
        self._listener: MetricsListener | None = None

    def start(self) -> None:
        """Start sampling, and listening when this process serves its own metrics (a busy
        metrics port is logged as an error: the chat keeps serving, the scrape fails loudly)."""
        settings = self._config.metrics
        if settings.port and multiprocess_directory() is None:
            try:
                self._listener = start_metrics_listener(settings.host, settings.port)
            except OSError as exc:
                log.error("cannot serve metrics on %s:%d: %s", settings.host, settings.port, exc)
            else:
                log.info("metrics on http://%s:%d/metrics", settings.host, self._listener.port)
        self._sampler.start()

    async def stop(self) -> None:
        """Stop sampling and listening."""
        await self._sampler.stop()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
