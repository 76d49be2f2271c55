"""The `bastion serve --workers N` supervisor (bastion/cli/supervisor.py) on stand-in workers.

Issue #15: "`bastion serve --workers N`: N processes serving one port"; "kill -9 one worker ...
(the others keep serving, restarted it rejoins)". The supervisor runs in a subprocess (it owns
its signals) with workers that report SIGTERM and exit; the full server under it is covered on
PostgreSQL + Redis by tests/multiprocess/test_workers_one_port.py.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from bastion.cli.supervisor import MAX_RESTART_DELAY_S, exit_reason, restart_delay_s
from tests.subprocess_coverage import measured_env

WAIT_S = 30.0
POLL_S = 0.05

WORKER = textwrap.dedent(
    """
    import signal, sys
    def drain(*_):
        print("worker drained", flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, drain)
    print("worker ready", flush=True)
    while True:
        signal.pause()
    """
)
SUPERVISOR = textwrap.dedent(
    """
    import logging, sys
    from bastion.cli.supervisor import ProcessSupervisor
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
    sys.exit(ProcessSupervisor(2, lambda i: [sys.executable, "-c", sys.argv[1]], []).run())
    """
)
STARTED = re.compile(r"worker (\d) of 2 started \(pid (\d+)\)")


def wait_for(log: Path, pattern: re.Pattern[str] | str, count: int = 1) -> list[Any]:
    regex = re.compile(pattern) if isinstance(pattern, str) else pattern
    deadline = time.monotonic() + WAIT_S
    while True:
        found = regex.findall(log.read_text())
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, (
            f"{regex.pattern!r} x {count} not in:\n{log.read_text()}"
        )
        time.sleep(POLL_S)


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_restarts_a_killed_worker_and_stops_all_on_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "supervisor.log"
    with log.open("wb") as out:
        supervisor = subprocess.Popen(
            [sys.executable, "-c", SUPERVISOR, WORKER],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=measured_env(),  # the supervisor runs only in a child: measure it there
        )
    try:
        started = dict(wait_for(log, STARTED, 2))
        wait_for(log, "worker ready", 2)
        os.kill(int(started["1"]), signal.SIGKILL)
        wait_for(log, rf"worker 1 \(pid {started['1']}\) killed by SIGKILL; restarting it in 1 s")
        restarted = wait_for(log, STARTED, 3)[2]
        assert restarted[0] == "1"
        assert restarted[1] != started["1"]
        assert is_alive(int(started["2"]))  # the other kept running
        wait_for(log, "worker ready", 3)

        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=WAIT_S) == 0
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
    text = log.read_text()
    assert text.count("worker drained") == 2  # SIGTERM forwarded to each live worker
    assert "all workers stopped" in text
    assert not any(is_alive(int(pid)) for pid in (restarted[1], started["2"]))


def test_restart_delay_doubles_to_a_ceiling() -> None:
    assert [restart_delay_s(n) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert restart_delay_s(100) == MAX_RESTART_DELAY_S


def test_exit_reasons_read_as_the_log_says() -> None:
    assert exit_reason(-signal.SIGKILL) == "killed by SIGKILL"
    assert exit_reason(3) == "exited with 3"
