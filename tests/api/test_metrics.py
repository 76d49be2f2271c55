"""Prometheus metrics (observability/metrics.py, api/http_metrics.py, app/metrics.py).

docs/operations.md#metrics: "requests are counted by method, route template and status class
(the template, never the raw path: room and event IDs would make a series each)"; "syncs
parked, events sent, the database pool, Redis and background jobs"; "served on a listener of
its own ([metrics] port on 127.0.0.1), never on the client API's port"; with several workers
"the supervisor sums every worker's files (prometheus_client multiprocess mode)".

The registry is the process's: counters only grow, so tests compare before and after.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bastion.app.metrics import GaugeSampler
from bastion.clock import FakeClock
from bastion.config import RedisConfig
from bastion.observability.metrics import render_metrics, start_metrics_listener
from bastion.workers.base import Supervisor
from tests.conftest import Homeserver, errcode, homeserver_with
from tests.unit.test_workers import FakeWorker

SEND_ROUTE = "/_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}"


def samples(text: bytes | None = None) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the exposition: (name, labels) → value."""
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families((text or render_metrics()).decode()):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(name: str, **labels: str) -> float:
    return samples().get((name, frozenset(labels.items())), 0.0)


async def test_requests_are_counted_by_route_template(hs: Homeserver) -> None:
    """ "counted by method, route template and status class (the template, never the raw
    path)", with a latency histogram per route."""
    alice = await hs.register_user("alice")
    room = await alice.create_room()
    labels = {"method": "PUT", "route": SEND_ROUTE, "status_class": "2xx"}
    before = value("bastion_http_requests_total", **labels)
    timed_before = value(
        "bastion_http_request_duration_seconds_count", method="PUT", route=SEND_ROUTE
    )
    await alice.send_text(room, "one")
    await alice.send_text(room, "two")
    refused = await alice.put(f"/rooms/{room}/send/m.room.message/t", json=[])
    assert refused.status_code == 400
    assert value("bastion_http_requests_total", **labels) == before + 2
    assert value("bastion_http_requests_total", **{**labels, "status_class": "4xx"}) >= 1
    timed = value("bastion_http_request_duration_seconds_count", method="PUT", route=SEND_ROUTE)
    assert timed == timed_before + 3
    exposition = render_metrics().decode()
    assert room not in exposition  # no room ID in any label
    assert "m.room.message" not in exposition


async def test_unmatched_paths_and_odd_methods_add_no_series(hs: Homeserver) -> None:
    """A scan of random paths and methods stays within one series each."""
    before = value(
        "bastion_http_requests_total", method="OTHER", route="unmatched", status_class="4xx"
    )
    for n in range(3):
        resp = await hs.http.request("BREW", f"/random/{n}")
        assert resp.status_code in {404, 405}
    assert (
        value("bastion_http_requests_total", method="OTHER", route="unmatched", status_class="4xx")
        == before + 3
    )
    assert "/random/" not in render_metrics().decode()


async def test_events_sent_and_syncs_parked(hs: Homeserver) -> None:
    """ "syncs parked" (a gauge) and "events sent" (a counter)."""
    alice = await hs.register_user("alice")
    room = await alice.create_room()
    since = (await alice.sync())["next_batch"]
    sent_before = value("bastion_events_sent_total")
    sampler = GaugeSampler(hs.runtime.db, hs.runtime.wakeups, hs.runtime.shared.redis_state)
    polling = asyncio.create_task(alice.sync(since, timeout=60_000))
    await hs.wait_for_waiting_syncs(1)
    sampler.sample()
    assert value("bastion_syncs_parked") == 1
    await alice.send_text(room, "wake up")
    await asyncio.wait_for(polling, timeout=5)
    assert value("bastion_events_sent_total") == sent_before + 1
    sampler.sample()
    assert value("bastion_syncs_parked") == 0
    if hs.runtime.db.dialect == "postgres":
        assert value("bastion_db_pool_size") >= 1
        assert value("bastion_db_pool_in_use") == 0


async def test_background_job_runs_and_failures_are_counted() -> None:
    """ "background job runs/failures", per worker."""
    clock = FakeClock()
    worker = FakeWorker(clock, "metrics-test", fail_on=frozenset({1}))
    runs = value("bastion_job_runs_total", worker="metrics-test")
    failures = value("bastion_job_failures_total", worker="metrics-test")
    supervisor = Supervisor(worker, clock)
    supervisor.start()
    await worker.next_iteration()  # fails
    clock.advance(1)  # the first backoff
    await worker.next_iteration()  # succeeds
    await supervisor.stop()
    assert value("bastion_job_failures_total", worker="metrics-test") == failures + 1
    assert value("bastion_job_runs_total", worker="metrics-test") == runs + 1


async def test_metrics_have_their_own_listener_not_the_client_port(hs: Homeserver) -> None:
    """ "served on a listener of its own, never on the client API's port"."""
    on_client_port = await hs.http.get("/metrics")
    assert errcode(on_client_port) == (404, "M_UNRECOGNIZED")
    listener = start_metrics_listener("127.0.0.1", 0)
    try:
        resp = await asyncio.to_thread(httpx.get, f"http://127.0.0.1:{listener.port}/metrics")
    finally:
        listener.close()
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(resp.text)}
    assert {
        "bastion_http_requests",
        "bastion_syncs_parked",
        "bastion_events_sent",
        "bastion_db_pool_size",
        "bastion_db_pool_in_use",
        "bastion_redis_connected",
        "bastion_redis_reconnects",
        "bastion_job_runs",
        "bastion_job_failures",
    } <= names


MULTIPROCESS_SCRIPT = """
import subprocess, sys
from pathlib import Path
from bastion.observability.metrics import (
    mark_process_dead, metrics, prepare_metrics_directory, render_metrics)

directory = Path(sys.argv[1])
(directory / "stale_1.db").parent.mkdir(parents=True, exist_ok=True)
(directory / "counter_1.db").write_bytes(b"left by a previous run")
prepare_metrics_directory(directory)
child = (
    "from bastion.observability.metrics import metrics\\n"
    "metrics().events_sent.inc(2)\\n"
    "metrics().syncs_parked.set(3)\\n"
)
pids = []
for _ in range(2):
    done = subprocess.run([sys.executable, "-c", child + "import os; print(os.getpid())"],
                          check=True, capture_output=True, text=True)
    pids.append(int(done.stdout))
sys.stdout.write(render_metrics().decode())
sys.stdout.write("----\\n")
mark_process_dead(pids[0])
sys.stdout.write(render_metrics().decode())
"""


def test_multiprocess_mode_sums_every_worker(tmp_path: Path) -> None:
    """ "the supervisor sums every worker's files": two worker processes each send 2 events and
    park 3 syncs; the supervisor's scrape shows 4 events and 6 syncs, and once one worker is
    marked dead, its parked syncs leave the sum while its events stay counted. (A process of
    its own: multiprocess mode is switched per process.)"""
    done = subprocess.run(
        [sys.executable, "-c", MULTIPROCESS_SCRIPT, str(tmp_path / "metrics")],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    both, one_dead = done.stdout.split("----\n")
    live = samples(both.encode())
    assert live[("bastion_events_sent_total", frozenset())] == 4
    assert live[("bastion_syncs_parked", frozenset())] == 6
    after = samples(one_dead.encode())
    assert after[("bastion_events_sent_total", frozenset())] == 4
    assert after[("bastion_syncs_parked", frozenset())] == 3


async def test_redis_link_is_reported(tmp_path: Path, database_config: Any) -> None:
    """ "Redis state (connected 0/1, reconnects)", read from the Redis bus."""
    url = os.environ.get("BASTION_TEST_REDIS_URL")
    if not url:
        pytest.skip("BASTION_TEST_REDIS_URL is not set (run under scripts/with-redis)")
    async with homeserver_with(tmp_path, database_config, redis=RedisConfig(url=url)) as hs:
        redis = hs.runtime.shared.redis
        assert redis is not None
        assert await redis.wait_connected(5)
        GaugeSampler(hs.runtime.db, hs.runtime.wakeups, hs.runtime.shared.redis_state).sample()
        assert value("bastion_redis_connected") == 1
