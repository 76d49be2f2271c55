"""The user-redaction worker: advances the admins' "redact all of this user's messages" jobs.

One iteration is one batch of every pending job (`RedactionJobRunner.run_pending`, whose module
states the safety design); the job rows are the only state, so a restarted server resumes every
pending job from its last committed batch. Between iterations: none while work is left (after
yielding to the event loop), else it waits until a job is queued (`AdminRedactions.work_added`)
or `interval_s` passes on the injected clock (a job queued by another process).

Across processes each iteration runs under a lease held for that batch only
(`lease_per_pass`, leased.py `PerPass`): batches of one job never run in two processes at once,
and whichever process is woken by a new job starts it.
"""

from __future__ import annotations

import asyncio

from bastion.clock import Clock
from bastion.services.moderation.jobs import RedactionJobRunner
from bastion.workers.job_queue import woken_or_elapsed

INTERVAL_S = 60.0


class RedactionJobsWorker:
    """Drives the user-redaction jobs."""

    name = "redaction jobs"
    lease_per_pass = True  # see the module docstring

    def __init__(
        self,
        runner: RedactionJobRunner,
        work_added: asyncio.Event,
        clock: Clock,
        *,
        interval_s: float = INTERVAL_S,
    ) -> None:
        self._runner, self._work_added, self._clock = runner, work_added, clock
        self._interval_s = interval_s
        self._more = True  # look once at start: jobs left by a previous run

    async def run_once(self) -> None:
        self._work_added.clear()
        self._more = await self._runner.run_pending()

    async def wait_next(self) -> None:
        if self._more:
            await asyncio.sleep(0)
            return
        await woken_or_elapsed(self._work_added, self._clock, self._interval_s)

    async def close(self) -> None:
        return None
