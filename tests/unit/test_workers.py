"""The worker lifecycle (workers/base.py, registry.py): start/stop, restart after a failure with
backoff, bounded graceful stop, iterations driven by a FakeClock, and resumable jobs.

Nothing here sleeps: a worker waits on `FakeClock.sleep`, which wakes only when the test calls
`advance`; the test learns that an iteration ran from a queue the fake worker fills.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from bastion.clock import FakeClock
from bastion.workers.base import MAX_BACKOFF_S, Supervisor, backoff_s, run_to_completion
from bastion.workers.presence_expiry import PresenceExpiryWorker
from bastion.workers.registry import WorkerRegistry

# Bound on every wait for the background task (real time; never reached when things work).
WAIT_S = 5.0


class FakeWorker:
    """Reports each iteration's clock time; fails the iterations listed in `fail_on`."""

    def __init__(
        self,
        clock: FakeClock,
        name: str = "fake",
        *,
        interval_s: float = 5.0,
        fail_on: frozenset[int] = frozenset(),
        closed: list[str] | None = None,
    ) -> None:
        self.name = name
        self._clock = clock
        self._interval_s = interval_s
        self._fail_on = fail_on
        self.iterations: asyncio.Queue[int] = asyncio.Queue()
        self.count = 0
        self.closed = closed if closed is not None else []
        self.release: asyncio.Event | None = None  # when set, iterations wait for it
        self.finished = 0

    async def run_once(self) -> None:
        self.count += 1
        self.iterations.put_nowait(self._clock.now_ms())
        if self.count in self._fail_on:
            raise RuntimeError(f"iteration {self.count} fails")
        if self.release is not None:
            await self.release.wait()
        self.finished += 1

    async def wait_next(self) -> None:
        await self._clock.sleep(self._interval_s)

    async def close(self) -> None:
        self.closed.append(self.name)

    async def next_iteration(self) -> int:
        return await asyncio.wait_for(self.iterations.get(), WAIT_S)


async def test_start_runs_iterations_on_the_clock_until_stopped() -> None:
    clock = FakeClock()
    worker = FakeWorker(clock, interval_s=5)
    supervisor = Supervisor(worker, clock)
    start = clock.now_ms()
    supervisor.start()
    supervisor.start()  # once only
    assert await worker.next_iteration() == start  # the first iteration runs at once
    assert clock.sleepers == 1  # then the worker waits on the clock, not on real time
    clock.advance(4.9)
    assert clock.sleepers == 1  # not due yet: still asleep
    assert worker.iterations.empty()
    clock.advance(0.1)
    assert await worker.next_iteration() == start + 5_000
    assert supervisor.is_running
    await supervisor.stop()
    assert not supervisor.is_running
    assert worker.closed == ["fake"]
    clock.advance(60)
    assert worker.iterations.empty()  # stopped: no more iterations
    await supervisor.stop()  # stopping twice is harmless
    assert worker.closed == ["fake"]
    assert worker.count == 2


async def test_a_failing_iteration_is_logged_and_restarted_with_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    worker = FakeWorker(clock, "flaky", fail_on=frozenset({1, 2}))
    supervisor = Supervisor(worker, clock)
    start = clock.now_ms()
    with caplog.at_level(logging.ERROR, logger="bastion.workers.base"):
        supervisor.start()
        assert await worker.next_iteration() == start  # fails
        assert supervisor.failures == 1
        clock.advance(0.5)
        assert worker.iterations.empty()  # backing off for 1 s
        clock.advance(0.5)
        assert await worker.next_iteration() == start + 1_000  # fails again
        clock.advance(1.5)
        assert worker.iterations.empty()  # the second backoff is 2 s
        clock.advance(0.5)
        assert await worker.next_iteration() == start + 3_000  # succeeds
        await supervisor.stop()
    assert supervisor.restarts == 2
    assert supervisor.failures == 0  # a good iteration resets the backoff
    failures = [r for r in caplog.records if "worker flaky failed" in r.getMessage()]
    assert len(failures) == 2
    assert all(r.exc_info is not None for r in failures)  # with the traceback


def test_backoff_doubles_up_to_a_ceiling() -> None:
    assert [backoff_s(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff_s(40) == MAX_BACKOFF_S
    assert backoff_s(10_000) == MAX_BACKOFF_S


async def test_stop_lets_the_iteration_in_progress_finish() -> None:
    clock = FakeClock()
    worker = FakeWorker(clock)
    worker.release = asyncio.Event()
    supervisor = Supervisor(worker, clock)
    supervisor.start()
    await worker.next_iteration()  # now inside run_once, waiting for `release`
    stopping = asyncio.ensure_future(supervisor.stop())
    worker.release.set()
    await asyncio.wait_for(stopping, WAIT_S)
    assert worker.finished == 1  # completed, not cancelled
    assert worker.count == 1  # and no new iteration started after the stop
    assert worker.closed == ["fake"]


async def test_stop_is_bounded_when_an_iteration_hangs(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    worker = FakeWorker(clock, "stuck")
    worker.release = asyncio.Event()  # never set
    supervisor = Supervisor(worker, clock, stop_timeout_s=0.01)
    supervisor.start()
    await worker.next_iteration()
    with caplog.at_level(logging.WARNING, logger="bastion.workers.base"):
        await asyncio.wait_for(supervisor.stop(), WAIT_S)
    assert worker.finished == 0  # cancelled after the grace period
    assert worker.closed == ["stuck"]
    assert "worker stuck did not stop in time" in caplog.text


async def test_registry_starts_in_order_and_stops_in_reverse() -> None:
    clock = FakeClock()
    closed: list[str] = []
    first = FakeWorker(clock, "first", closed=closed)
    second = FakeWorker(clock, "second", closed=closed)
    registry = WorkerRegistry(clock)
    registry.add(first)
    registry.add(second)
    assert registry.names == ["first", "second"]
    assert not any(s.is_running for s in registry.supervisors)  # building starts nothing
    registry.start()
    await first.next_iteration()
    await second.next_iteration()
    assert all(s.is_running for s in registry.supervisors)
    await registry.stop()
    assert closed == ["second", "first"]
    assert not any(s.is_running for s in registry.supervisors)


class FailingClose(FakeWorker):
    async def close(self) -> None:
        raise RuntimeError("cannot close")


async def test_registry_stops_the_rest_when_one_fails_to_close() -> None:
    clock = FakeClock()
    closed: list[str] = []
    registry = WorkerRegistry(clock)
    registry.add(FakeWorker(clock, "first", closed=closed))
    registry.add(FailingClose(clock, "broken", closed=closed))
    registry.start()
    await registry.stop()
    assert closed == ["first"]


class FakePresence:
    def __init__(self) -> None:
        self.sweeps: asyncio.Queue[int] = asyncio.Queue()

    async def expire(self, now_ms: int) -> int:
        self.sweeps.put_nowait(now_ms)
        return 1


async def test_presence_expiry_sweeps_once_per_interval() -> None:
    clock = FakeClock()
    presence = FakePresence()
    worker = PresenceExpiryWorker(presence, clock, interval_s=5)
    await worker.run_once()  # one iteration, deterministic
    assert presence.sweeps.get_nowait() == clock.now_ms()
    supervisor = Supervisor(worker, clock)
    start = clock.now_ms()
    supervisor.start()
    assert await asyncio.wait_for(presence.sweeps.get(), WAIT_S) == start
    clock.advance(5)
    assert await asyncio.wait_for(presence.sweeps.get(), WAIT_S) == start + 5_000
    await supervisor.stop()
    assert worker.changed == 3


class CountingJob:
    """A job over `total` items whose progress lives in `progress` (its "database")."""

    name = "counting"

    def __init__(self, progress: list[int], total: int, batch: int) -> None:
        self._progress = progress
        self._total = total
        self._batch = batch
        self.done = 0

    async def step(self) -> bool:
        taken = min(self._batch, self._total - len(self._progress))
        self._progress.extend(range(len(self._progress), len(self._progress) + taken))
        self.done += taken
        return taken < self._batch


async def test_run_to_completion_steps_until_nothing_is_left() -> None:
    progress: list[int] = []
    partial = CountingJob(progress, total=5, batch=2)
    assert await partial.step() is False  # stopped after one batch
    assert await run_to_completion(CountingJob(progress, total=5, batch=2)) == 3
    assert progress == [0, 1, 2, 3, 4]  # each item once
    assert await run_to_completion(CountingJob(progress, total=5, batch=2)) == 0
