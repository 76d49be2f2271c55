"""The workers the serving app runs: started in order by its lifespan, stopped in reverse.

Building a registry starts nothing: `Runtime.open` (shared by tests, benchmarks and `bastion
serve`) never starts a background task; only `start` does, and only the serving app's lifespan
calls it. Stopping is the reverse of starting, so a worker is stopped before anything it was
started after.

With `leases` (several processes on one PostgreSQL database), every worker runs exactly once
across the processes (leased.py): a job-table worker (`lease_per_pass = True` on its class)
under a lease per pass, any other under a lease for the process's life. The registry closes
the leases after the last worker stopped. Without (SQLite: one process), workers run bare.
"""

from __future__ import annotations

import logging

from bastion.clock import Clock
from bastion.store.protocols.leases import WorkerLeases
from bastion.workers.base import STOP_TIMEOUT_S, Supervisor, Worker
from bastion.workers.leased import Leased, PerPass

log = logging.getLogger(__name__)


class WorkerRegistry:
    """An ordered list of supervised workers."""

    def __init__(
        self,
        clock: Clock,
        *,
        stop_timeout_s: float = STOP_TIMEOUT_S,
        leases: WorkerLeases | None = None,
    ) -> None:
        self._clock = clock
        self._stop_timeout_s = stop_timeout_s
        self._leases = leases
        self.supervisors: list[Supervisor] = []

    def add(self, worker: Worker) -> Supervisor:
        """Register `worker` (it starts after those already registered), under its lease."""
        if self._leases is not None:
            wrapper = PerPass if getattr(worker, "lease_per_pass", False) else Leased
            worker = wrapper(worker, self._leases, self._clock)
        supervisor = Supervisor(worker, self._clock, stop_timeout_s=self._stop_timeout_s)
        self.supervisors.append(supervisor)
        return supervisor

    @property
    def names(self) -> list[str]:
        return [s.worker.name for s in self.supervisors]

    def start(self) -> None:
        """Start every worker, in registration order."""
        for supervisor in self.supervisors:
            supervisor.start()
        log.info("workers started: %s", ", ".join(self.names) or "none")

    async def stop(self) -> None:
        """Stop every worker, in reverse order; one failing to close does not keep the rest up."""
        for supervisor in reversed(self.supervisors):
            try:
                await supervisor.stop()
            except Exception:
                log.exception("worker %s failed to stop", supervisor.worker.name)
        if self._leases is not None:
            await self._leases.close()
        log.info("workers stopped: %s", ", ".join(reversed(self.names)) or "none")
