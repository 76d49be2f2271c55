"""The retention purge worker: one purge pass every `retention.purge_interval_s` (the policy).

The pass itself (`services/retention/purge.py`) is bounded batches, one transaction each,
idempotent and resumable; this worker only says when. It purges once at start, then once per
interval on the injected clock (read from the policy in force before each wait, so a policy
change applies from the next wait). A failing pass is logged and retried by the supervisor.
Across processes one process purges, the one holding the worker's lease for its life
(leased.py `Leased`): one pass per interval server-wide, not one per process.
"""

from __future__ import annotations

from typing import Protocol

from bastion.clock import Clock


class Purges(Protocol):
    """What the worker drives: `RetentionPurge`."""

    async def purge(self) -> object: ...

    async def interval_s(self) -> int: ...


class RetentionPurgeWorker:
    """Runs `purge()` once per interval."""

    name = "retention purge"

    def __init__(self, purge: Purges, clock: Clock) -> None:
        self._purge = purge
        self._clock = clock
        self.passes = 0  # completed passes (tests, logs)

    async def run_once(self) -> None:
        await self._purge.purge()
        self.passes += 1

    async def wait_next(self) -> None:
        await self._clock.sleep(await self._purge.interval_s())

    async def close(self) -> None:
        return None
