"""Background work exactly once across processes: a worker runs only where its lease is held.

Several Bastion processes serve one PostgreSQL database (`bastion serve --workers N`, or several
machines); each builds the same workers, and these wrappers decide which of them may work. The
lease (store/protocols/leases.py) is a PostgreSQL session advisory lock, so it dies with the
process holding it and another process takes over; on SQLite every lease is granted (one process)
and the app does not wrap its workers at all. Two ways, chosen per worker by the app:

- `Leased` (a lease for as long as the process lives): for the periodic workers and those with
  in-memory state between iterations: presence expiry and retention purge (a pass per interval
  server-wide, not one per process), push delivery (one sender per pusher, else a notification
  could go out twice; its deliveries are tasks that outlive an iteration) and the offboarding
  resumer (one process resumes a dead one's jobs). A process that does not hold the lease tries
  again every `retry_s` (on the injected clock), so one dies and another starts within that
  time; the new holder starts with the inner worker's first iteration, which picks up what the
  dead one left (each of them resumes from the database at start).
- `PerPass` (a lease around each iteration, given back after it): for the job-table workers
  (room deletion, user-redaction jobs, compliance exports), whose jobs are rows and run only
  inside `run_pending`. A job scheduled through any process is started by that process's own
  wake-up at once, never waiting for another process's interval; while another process is in
  a pass, this one looks again after `retry_s`. The lease held for the whole pass means no job
  runs in two processes at once; a job cut short by its process's death is run again (resumed
  from its row) by the next pass anywhere.

What a lease cannot promise: if the holder's lease connection drops while its iteration
continues (the database restarted, the network cut), another process may start before the first
notices at its next `hold`. Each of these workers is idempotent per committed step for that
case: presence and purge passes are transactions, push progress is stored after each request
(a repeat is suppressed by the gateway by event_id), and jobs commit their progress with each
batch.
"""

from __future__ import annotations

import logging
import os

from bastion.clock import Clock
from bastion.store.protocols.leases import WorkerLeases
from bastion.workers.base import Worker

log = logging.getLogger(__name__)

RETRY_S = 10.0


class Leased:
    """Runs `inner` only while this process holds the lease named after it (see module)."""

    def __init__(
        self, inner: Worker, leases: WorkerLeases, clock: Clock, *, retry_s: float = RETRY_S
    ) -> None:
        self.inner = inner
        self._leases = leases
        self._clock = clock
        self._retry_s = retry_s
        self.is_holder = False

    @property
    def name(self) -> str:
        return self.inner.name

    async def run_once(self) -> None:
        held = await self._leases.hold(self.name)
        if held != self.is_holder:
            where = "runs here now" if held else "runs elsewhere"
            log.info("worker %s: %s (pid %d)", self.name, where, os.getpid())
        self.is_holder = held
        if held:
            await self.inner.run_once()

    async def wait_next(self) -> None:
        if self.is_holder:
            await self.inner.wait_next()
        else:
            await self._clock.sleep(self._retry_s)

    async def close(self) -> None:
        try:
            await self.inner.close()
        finally:
            await self._leases.release(self.name)
            self.is_holder = False


class PerPass:
    """Runs each iteration of `inner` under the lease named after it, given back after it."""

    def __init__(
        self, inner: Worker, leases: WorkerLeases, clock: Clock, *, retry_s: float = RETRY_S
    ) -> None:
        self.inner = inner
        self._leases = leases
        self._clock = clock
        self._retry_s = retry_s
        self.was_busy = False  # the last iteration found another process in a pass

    @property
    def name(self) -> str:
        return self.inner.name

    async def run_once(self) -> None:
        self.was_busy = not await self._leases.hold(self.name)
        if self.was_busy:
            return
        try:
            await self.inner.run_once()
        finally:
            await self._leases.release(self.name)

    async def wait_next(self) -> None:
        if self.was_busy:
            await self._clock.sleep(self._retry_s)
        else:
            await self.inner.wait_next()

    async def close(self) -> None:
        await self.inner.close()
