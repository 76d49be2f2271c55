"""`bastion serve --workers N`: one supervising process, N worker processes on one socket.

The supervisor binds nothing itself: `bastion serve` has bound the port once (cli/server.py
`_bind`) and hands the listening socket to every worker process, which is a full server
(`bastion serve --listen-fd FD`: uvicorn + the app + its lifespan). The kernel spreads new
connections among the processes accepting on the socket; no request is tied to one process,
because what they share lives in PostgreSQL and Redis (docs/scaling.md).

What the supervisor guarantees:
- Workers are fresh interpreters (fork + exec of `sys.executable -m bastion`), never forks of
  this process: nothing (an event loop, a connection, a metrics registry picked before
  multiprocess mode) is inherited by accident. A worker whose supervisor dies is sent SIGTERM by
  the kernel (Linux `PR_SET_PDEATHSIG`, set by the worker), so none outlives it.
- A worker that exits on its own (a crash, `kill -9`) is started again in the same slot after a
  backoff: 1 s doubling to MAX_RESTART_DELAY_S while it keeps dying within STABLE_AFTER_S of its
  start; a worker that ran longer restarts after 1 s. The others keep serving meanwhile.
- SIGTERM or SIGINT stops gracefully: SIGTERM to every worker (each stops accepting, drains its
  requests and long polls for uvicorn's grace period, runs its lifespan's shutdown), then the
  supervisor exits 0 once all have exited. Workers still running STOP_TIMEOUT_S later, or at a
  second signal, are killed.
- Every start, exit and restart is logged with the worker's slot and pid; the workers' own lines
  carry their pid (observability/logs.py).
- `on_exit(pid)` is called for each worker reaped (Prometheus multiprocess mode drops its live
  gauges: observability/metrics.py `mark_process_dead`).

Signals reach the loop through `signal.set_wakeup_fd`: the handlers do nothing, the loop reads
the signal numbers from a pipe in `select`, so no work happens inside a signal handler.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

log = logging.getLogger("bastion.supervisor")

STABLE_AFTER_S = 30.0
MAX_RESTART_DELAY_S = 60.0
STOP_TIMEOUT_S = 30.0
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

# The command starting worker `index` (0-based); the listening socket's fd is passed to it.
WorkerCommand = Callable[[int], Sequence[str]]


def restart_delay_s(failures: int) -> float:
    """Seconds before restarting a worker that died `failures` times in a row (>= 1)."""
    return float(min(2 ** min(failures - 1, 16), MAX_RESTART_DELAY_S))


def exit_reason(code: int) -> str:
    """`exited with 1`, `killed by SIGKILL`: how a worker's exit status reads in the log."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with {code}"


@dataclass
class _Slot:
    index: int
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    pids: list[int] = field(default_factory=list)  # every pid this slot had (tests, logs)


class ProcessSupervisor:
    """Runs `count` workers and keeps them running until told to stop (see module docstring)."""

    def __init__(
        self,
        count: int,
        command: WorkerCommand,
        pass_fds: Sequence[int],
        *,
        on_exit: Callable[[int], None] = lambda _pid: None,
    ) -> None:
        self._slots = [_Slot(index) for index in range(count)]
        self._command = command
        self._pass_fds = tuple(pass_fds)
        self._on_exit = on_exit
        self._stopping_since: float | None = None

    def run(self) -> int:
        """Start the workers, supervise them, return 0 after a graceful stop."""
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        previous_fd = signal.set_wakeup_fd(wake_write)
        handled = (signal.SIGCHLD, *_STOP_SIGNALS)
        previous = {sig: signal.signal(sig, lambda _sig, _frame: None) for sig in handled}
        try:
            for slot in self._slots:
                self._start(slot)
            while self._alive() or self._stopping_since is None:
                self._wait(wake_read)
                self._reap()
                if self._stopping_since is None:
                    self._restart_due()
                elif time.monotonic() - self._stopping_since > STOP_TIMEOUT_S:
                    self._kill_all("did not stop in time")
            log.info("all workers stopped")
            return 0
        finally:
            self._kill_all("supervisor exiting")
            signal.set_wakeup_fd(previous_fd)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            os.close(wake_read)
            os.close(wake_write)

    # -- the loop ------------------------------------------------------------------------------

    def _wait(self, wake_read: int) -> None:
        """Block until a signal arrives or the next restart (or stop deadline) is due."""
        readable, _, _ = select.select([wake_read], [], [], self._timeout())
        if not readable:
            return
        try:
            received = os.read(wake_read, 512)
        except BlockingIOError:
            return
        for number in received:
            if number in _STOP_SIGNALS:
                self._stop(signal.Signals(number))

    def _timeout(self) -> float | None:
        now = time.monotonic()
        if self._stopping_since is not None:
            return max(self._stopping_since + STOP_TIMEOUT_S - now, 0.0)
        due = [s.restart_at for s in self._slots if s.restart_at is not None]
        return max(min(due) - now, 0.0) if due else None

    def _stop(self, sig: signal.Signals) -> None:
        if self._stopping_since is not None:
            self._kill_all(f"second {sig.name}")
            return
        self._stopping_since = time.monotonic()
        live = [s.process for s in self._slots if s.process is not None]
        log.info("%s: stopping workers (pids %s)", sig.name, ", ".join(str(p.pid) for p in live))
        for process in live:
            process.send_signal(signal.SIGTERM)

    def _reap(self) -> None:
        for slot in self._slots:
            process = slot.process
            if process is None or (code := process.poll()) is None:
                continue
            slot.process = None
            self._on_exit(process.pid)
            if self._stopping_since is not None:
                log.info("worker %d (pid %d) %s", slot.index + 1, process.pid, exit_reason(code))
                continue
            now = time.monotonic()
            slot.failures = 1 if now - slot.started_at > STABLE_AFTER_S else slot.failures + 1
            delay = restart_delay_s(slot.failures)
            slot.restart_at = now + delay
            log.error(
                "worker %d (pid %d) %s; restarting it in %.0f s",
                slot.index + 1,
                process.pid,
                exit_reason(code),
                delay,
            )

    def _restart_due(self) -> None:
        now = time.monotonic()
        for slot in self._slots:
            if slot.restart_at is not None and slot.restart_at <= now:
                slot.restart_at = None
                self._start(slot)

    def _start(self, slot: _Slot) -> None:
        process = subprocess.Popen(  # noqa: S603  # our own program, arguments we built
            list(self._command(slot.index)), pass_fds=self._pass_fds, stdin=subprocess.DEVNULL
        )
        slot.process, slot.started_at = process, time.monotonic()
        slot.pids.append(process.pid)
        log.info("worker %d of %d started (pid %d)", slot.index + 1, len(self._slots), process.pid)

    def _alive(self) -> bool:
        return any(slot.process is not None for slot in self._slots)

    def _kill_all(self, why: str) -> None:
        for slot in self._slots:
            if slot.process is not None and slot.process.poll() is None:
                log.warning("worker %d (pid %d) killed: %s", slot.index + 1, slot.process.pid, why)
                slot.process.kill()
                slot.process.wait()
                self._on_exit(slot.process.pid)
                slot.process = None

    @property
    def pids(self) -> list[int]:
        """The pid of each worker running now."""
        return [s.process.pid for s in self._slots if s.process is not None]
