"""The offboarding resumer: completes offboarding jobs a previous process left unfinished.

A job saves its progress after every piece of work (services/offboarding/), so a process that
died mid-way left a row saying where it stopped. At start this worker resumes every such job
(run_once), then looks again every RECHECK_S on the injected clock, which also retries a job
whose run failed (its failure was audited). A job being run by a request in this process is
not run twice at once: the service holds a per-user lock.

Across processes one process resumes, the one holding the worker's lease for its life
(leased.py `Leased`), so a dead process's jobs are taken up once, by one survivor.
"""

from __future__ import annotations

from bastion.clock import Clock
from bastion.services.offboarding import Offboarding, OffboardingReport

RECHECK_S = 300.0


class OffboardingResumer:
    """Resumes unfinished offboarding jobs at start, then every RECHECK_S."""

    name = "offboarding resumer"

    def __init__(self, offboarding: Offboarding, clock: Clock) -> None:
        self._offboarding = offboarding
        self._clock = clock
        self.completed = 0  # jobs completed by this worker (tests, logs)

    async def resume(self) -> list[OffboardingReport]:
        """Complete every unfinished job; returns their reports."""
        reports = await self._offboarding.resume_unfinished()
        self.completed += len(reports)
        return reports

    async def run_once(self) -> None:
        await self.resume()

    async def wait_next(self) -> None:
        await self._clock.sleep(RECHECK_S)

    async def close(self) -> None:
        return None
