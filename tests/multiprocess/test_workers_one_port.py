"""`bastion serve` with `[server] workers = 2`: two worker processes on one port under a
supervisor (bastion/cli/supervisor.py), each a full server.

Issue #15: "`bastion serve --workers N` (and `[server] workers`): N processes serving one port
... each a full client-API server"; "kill -9 one worker under load (... the others keep serving,
restarted it rejoins)"; background jobs "run exactly once across processes ... and survive the
death of the process running them".
"""

from __future__ import annotations

import os
import re
import signal
import time

import httpx

from tests.clients.server import POLL_INTERVAL, ServerDidNotStart, free_port
from tests.multiprocess.cluster import Cluster, ServerProcess, timeline_events
from tests.multiprocess.test_two_processes import parked, room_with

# Bound on every wait for a log line: a worker lease is retried every 10 s, and a replacement
# worker waits for its dead predecessor's stream-writer lease to run out (30 s + 5 s).
WAIT_S = 120.0
STARTED = re.compile(r"worker (\d) of 2 started \(pid (\d+)\)")
STARTUP_COMPLETE = re.compile(r"Application startup complete")
HOLDS = re.compile(r"worker presence expiry: runs here now \(pid (\d+)\)")


def wait_for_log(
    server: ServerProcess, pattern: re.Pattern[str], count: int
) -> list[re.Match[str]]:
    """The first `count` matches of `pattern` in the server's log, waiting for them (bounded)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        matches = list(pattern.finditer(server.log_text()))
        if len(matches) >= count:
            return matches[:count]
        if time.monotonic() > deadline:
            raise ServerDidNotStart(f"no {count} x {pattern.pattern!r} in:\n{server.log_text()}")
        time.sleep(POLL_INTERVAL)


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_two_workers_share_one_port_and_a_killed_one_is_replaced(cluster: Cluster) -> None:
    metrics_port = free_port()
    server = cluster.process("w", workers=2, metrics_port=metrics_port)
    server.measured = True  # the supervisor and its workers run only here
    server.start()
    started = wait_for_log(server, STARTED, 2)
    pids = {int(m[1]): int(m[2]) for m in started}
    assert sorted(pids) == [1, 2]
    assert all(is_alive(p) for p in pids.values())
    alice = await cluster.login(server, cluster.create_user("alice"))
    bob = await cluster.login(server, cluster.create_user("bob"))
    room_id = await room_with(alice, bob)

    # Exactly one worker process runs the presence expiry worker.
    holder = int(wait_for_log(server, HOLDS, 1)[0][1])
    assert holder in pids.values()
    os.kill(holder, signal.SIGKILL)
    slot = next(s for s, p in pids.items() if p == holder)
    replaced = wait_for_log(server, re.compile(rf"worker {slot} of 2 started \(pid (\d+)\)"), 2)
    assert int(replaced[1][1]) != holder
    # The surviving process (or the replacement) takes the lease the dead one held.
    new_holder = int(wait_for_log(server, HOLDS, 2)[1][1])
    assert new_holder != holder
    assert is_alive(new_holder)
    assert f"(pid {holder}) killed by SIGKILL; restarting it" in server.log_text()
    wait_for_log(server, STARTUP_COMPLETE, 3)  # the replacement serves too

    # Still one server on the port: a send wakes a sync parked through the same port.
    since = (await bob.sync_ok())["next_batch"]
    waiting = await parked(bob, since)
    event_id = await alice.send_text(room_id, "after a worker died")
    resp = await waiting
    assert event_id in [e["event_id"] for e in timeline_events(resp.json(), room_id)]

    # The supervisor serves the workers' metrics, summed (Prometheus multiprocess mode).
    async with httpx.AsyncClient(trust_env=False) as http:
        scraped = await http.get(f"http://127.0.0.1:{metrics_port}/metrics")
    assert scraped.status_code == 200
    assert "bastion_http_requests_total" in scraped.text

    assert server.stop() == 0  # SIGTERM: the workers drain and stop, then the supervisor exits
    live = [int(replaced[1][1]), *(p for p in pids.values() if p != holder)]
    assert not any(is_alive(p) for p in live)
    assert "all workers stopped" in server.log_text()
    async with httpx.AsyncClient(trust_env=False) as http:
        try:
            await http.get(f"{server.base_url}/_matrix/client/versions")
        except httpx.TransportError:
            pass
        else:
            raise AssertionError("the port still answers after the supervisor stopped")
