"""What the job-queue workers share: wait for a wake-up or a period, and run pending jobs.

A job service (room deletions, compliance exports) keeps its jobs in rows, so they survive the
process; it sets its `wakeup` event when a job is scheduled here. Its worker runs the pending
jobs at start (what a previous process left), then whenever woken or every `interval_s` on the
injected clock (a job scheduled by another process, or a retry), whichever comes first.

Across processes (several on one PostgreSQL database) a pass runs under a lease held for the
pass only (`lease_per_pass`, leased.py `PerPass`): the jobs are rows and run only inside
`run_pending`, so one pass at a time server-wide is exactly once per job, and the process whose
request scheduled a job starts it at once instead of waiting for another process's interval.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from bastion.clock import Clock


async def woken_or_elapsed(event: asyncio.Event, clock: Clock, seconds: float) -> None:
    """Return when `event` is set or `seconds` have passed on `clock`, whichever is first."""
    waits = {
        asyncio.ensure_future(event.wait()),
        asyncio.ensure_future(clock.sleep(seconds)),
    }
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await wait


class RunsPendingJobs(Protocol):
    """A job service: its wake-up, and running every pending job (returns how many ran)."""

    wakeup: asyncio.Event

    async def run_pending(self) -> int: ...


class PendingJobsWorker:
    """Runs a job service's pending jobs at start, when woken, and every `interval_s`."""

    name = "pending jobs"
    lease_per_pass = True  # see the module docstring

    def __init__(self, jobs: RunsPendingJobs, clock: Clock, *, interval_s: float = 300) -> None:
        self._jobs = jobs
        self._clock = clock
        self._interval_s = interval_s
        self.ran = 0  # jobs run so far (tests, logs)

    async def run_once(self) -> None:
        self.ran += await self._jobs.run_pending()

    async def wait_next(self) -> None:
        await woken_or_elapsed(self._jobs.wakeup, self._clock, self._interval_s)

    async def close(self) -> None:
        return None
