"""Background workers exactly once across processes (workers/leased.py, registry.py): a worker
runs only in the process holding its lease; a job-table worker holds it for one pass.

Issue #15: "Background jobs (presence expiry, pusher delivery, retention purge, offboarding
resumption, exports) run exactly once across processes ... and survive the death of the process
running them." Two registries on one `SharedLeases` stand for two processes on one database; a
process's death is `die()`, which frees its leases as PostgreSQL frees a dead session's advisory
locks (the real leases: tests/store/test_worker_leases.py). Iterations are driven by FakeClock.
"""

from __future__ import annotations

import asyncio

from bastion.clock import FakeClock
from bastion.workers.leased import RETRY_S, Leased, PerPass
from bastion.workers.registry import WorkerRegistry
from tests.unit.test_workers import WAIT_S, FakeWorker


class SharedLeases:
    """The lease table of one database, shared by the processes in a test."""

    def __init__(self) -> None:
        self.holders: dict[str, str] = {}


class ProcessLeases:
    """One process's view of `SharedLeases` (implements store/protocols/leases.WorkerLeases)."""

    def __init__(self, shared: SharedLeases, process: str) -> None:
        self._shared, self._process = shared, process
        self.closed = False

    async def hold(self, name: str) -> bool:
        return self._shared.holders.setdefault(name, self._process) == self._process

    async def release(self, name: str) -> None:
        if self._shared.holders.get(name) == self._process:
            del self._shared.holders[name]

    async def close(self) -> None:
        self.closed = True
        self.die()

    def die(self) -> None:
        for name in [n for n, p in self._shared.holders.items() if p == self._process]:
            del self._shared.holders[name]


async def until_asleep(clock: FakeClock) -> None:
    """Yield to the loop until a worker waits on the clock."""
    while clock.sleepers == 0:  # noqa: ASYNC110  # FakeClock offers no event to wait on
        await asyncio.sleep(0)


class JobTableWorker(FakeWorker):
    lease_per_pass = True


async def test_a_leased_worker_runs_in_one_process_and_moves_when_it_dies() -> None:
    clock = FakeClock()
    shared = SharedLeases()
    leases_a, leases_b = ProcessLeases(shared, "a"), ProcessLeases(shared, "b")
    on_a, on_b = FakeWorker(clock, "presence expiry"), FakeWorker(clock, "presence expiry")
    a, b = Leased(on_a, leases_a, clock), Leased(on_b, leases_b, clock)

    await a.run_once()
    await b.run_once()
    assert (on_a.count, on_b.count) == (1, 0)  # once, not once per process
    assert a.is_holder
    assert not b.is_holder

    leases_a.die()  # kill -9: its session and so its lease are gone
    await b.run_once()
    assert on_b.count == 1  # the next look takes over, starting with a first iteration
    await a.run_once()  # a process that lost its lease does not run
    assert on_a.count == 1
    assert not a.is_holder


async def test_a_process_without_the_lease_looks_again_after_the_retry_period() -> None:
    clock = FakeClock()
    shared = SharedLeases()
    shared.holders["retention purge"] = "elsewhere"
    worker = FakeWorker(clock, "retention purge", interval_s=3600)
    registry = WorkerRegistry(clock, leases=ProcessLeases(shared, "b"))
    registry.add(worker)
    registry.start()
    await asyncio.wait_for(until_asleep(clock), WAIT_S)  # the first look: not held here
    assert worker.count == 0
    del shared.holders["retention purge"]  # its holder died
    clock.advance(RETRY_S)
    assert await worker.next_iteration() == clock.now_ms()
    await registry.stop()
    assert "retention purge" not in shared.holders  # given back at a graceful stop


async def test_a_job_table_worker_holds_the_lease_for_one_pass_only() -> None:
    clock = FakeClock()
    shared = SharedLeases()
    leases_a, leases_b = ProcessLeases(shared, "a"), ProcessLeases(shared, "b")
    on_a, on_b = JobTableWorker(clock, "room deletion"), JobTableWorker(clock, "room deletion")
    a, b = PerPass(on_a, leases_a, clock), PerPass(on_b, leases_b, clock)

    on_a.release = asyncio.Event()  # A's pass is running a long job
    pass_a = asyncio.create_task(a.run_once())
    await on_a.next_iteration()
    await b.run_once()
    assert on_b.count == 0
    assert b.was_busy
    on_a.release.set()
    await pass_a
    await b.run_once()  # A's pass is over: B, woken by a job of its own, runs it at once
    assert on_b.count == 1
    assert not b.was_busy
    assert shared.holders == {}


async def test_registry_chooses_the_lease_by_worker_and_closes_the_leases() -> None:
    clock = FakeClock()
    leases = ProcessLeases(SharedLeases(), "a")
    registry = WorkerRegistry(clock, leases=leases)
    periodic = registry.add(FakeWorker(clock, "presence expiry"))
    jobs = registry.add(JobTableWorker(clock, "compliance exports"))
    assert isinstance(periodic.worker, Leased)
    assert isinstance(jobs.worker, PerPass)
    assert registry.names == ["presence expiry", "compliance exports"]
    registry.start()
    await registry.stop()
    assert leases.closed


async def test_without_leases_workers_run_bare() -> None:
    """SQLite: one process serves the database; nothing changes."""
    clock = FakeClock()
    worker = FakeWorker(clock, "presence expiry")
    registry = WorkerRegistry(clock)
    assert registry.add(worker).worker is worker
