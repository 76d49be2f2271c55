"""Background workers and resumable jobs: the lifecycle every long-running piece of work shares.

A `Worker` is the body of a background loop: `run_once` does one iteration, `wait_next` waits
until the next one is due (an interval on the injected clock, or a wake-up), `close` releases
what iterations left behind (tasks, HTTP clients). A `Supervisor` runs one worker between
`start` and `stop`:

- Iterations never overlap: run_once, wait_next, run_once, ... in one task.
- A failure is never silent: an exception from either step is logged with the worker's name
  (and counted: `bastion_job_failures_total`, as good iterations are in `_runs_total`),
  and the worker is restarted after a backoff on the clock (1 s doubling to 5 min; a good
  iteration resets it). Only cancellation ends the loop.
- Stopping is graceful and bounded: a worker waiting for its next iteration is cancelled at
  once; one in the middle of an iteration gets `stop_timeout_s` (real time: the process is
  shutting down) to finish it, then is cancelled. `close` runs in either case.
- Tests need no loop: they call the worker's `run_once` themselves, or start a supervisor on a
  FakeClock and move it with `advance` (`FakeClock.sleep` wakes only then).

A `Job` is finite work done in bounded steps: `step` does one batch and commits the job's
progress in the same transaction as the batch, so a job stopped between steps (a crash, a
stop) continues from the last committed batch when it is next run, and never redoes one.
`run_to_completion` steps a job until it reports nothing left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from bastion.clock import Clock
from bastion.observability.metrics import metrics

log = logging.getLogger(__name__)

INITIAL_BACKOFF_S = 1.0
MAX_BACKOFF_S = 300.0
STOP_TIMEOUT_S = 10.0


class Worker(Protocol):
    """The body of a background loop; a `Supervisor` drives it."""

    @property
    def name(self) -> str:
        """How logs name this worker."""
        ...

    async def run_once(self) -> None:
        """One iteration (tests call it directly)."""
        ...

    async def wait_next(self) -> None:
        """Return when the next iteration is due."""
        ...

    async def close(self) -> None:
        """Release what iterations left running; called once the loop has ended."""
        ...


class Job(Protocol):
    """Finite, resumable work done one committed batch at a time."""

    @property
    def name(self) -> str:
        """How logs name this job."""
        ...

    @property
    def done(self) -> int:
        """How many items this instance has processed so far."""
        ...

    async def step(self) -> bool:
        """Do one batch and commit its progress with it; True once nothing is left."""
        ...


def backoff_s(failures: int) -> float:
    """Seconds to wait before restarting after `failures` consecutive failures (>= 1)."""
    return float(min(INITIAL_BACKOFF_S * 2 ** min(failures - 1, 30), MAX_BACKOFF_S))


class Supervisor:
    """Runs one worker in the background between `start` and `stop`; see the module docstring."""

    def __init__(
        self, worker: Worker, clock: Clock, *, stop_timeout_s: float = STOP_TIMEOUT_S
    ) -> None:
        self.worker = worker
        self._clock = clock
        self._stop_timeout_s = stop_timeout_s
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._in_iteration = False
        self.failures = 0  # consecutive, reset by a good iteration
        self.restarts = 0  # since start

    @property
    def is_running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the loop in the background (a second call does nothing)."""
        if self._task is None:
            self._stopping = False
            self._in_iteration = False
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"worker {self.worker.name}"
            )

    async def stop(self) -> None:
        """Stop the loop (bounded: see the module docstring), then close the worker."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        if self._in_iteration and not task.done():
            await asyncio.wait({task}, timeout=self._stop_timeout_s)
            if not task.done():
                log.warning("worker %s did not stop in time; cancelled", self.worker.name)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await self.worker.close()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                self._in_iteration = True
                await self.worker.run_once()
                self._in_iteration = False
                self.failures = 0
                metrics().job_runs.labels(self.worker.name).inc()
                if self._stopping:
                    return
                await self.worker.wait_next()
            except Exception:
                self._in_iteration = False
                self.failures += 1
                metrics().job_failures.labels(self.worker.name).inc()
                if self._stopping:
                    log.exception("worker %s failed while stopping", self.worker.name)
                    return
                delay = backoff_s(self.failures)
                log.exception("worker %s failed; restarting in %.0f s", self.worker.name, delay)
                await self._clock.sleep(delay)
                self.restarts += 1


async def run_to_completion(job: Job) -> int:
    """Step `job` until it has nothing left; returns how many items this run processed."""
    while not await job.step():
        pass
    if job.done:
        log.info("%s: %d done", job.name, job.done)
    return job.done
