"""Prometheus metrics, one set per process, summed across processes in multiprocess mode.

What is measured (names as exported; every name starts with `bastion_`):
- `http_requests_total{method,route,status_class}` and `http_request_duration_seconds{method,
  route}`: `route` is the route template (`/_matrix/client/v3/rooms/{roomId}/send/...`), never
  the raw path (IDs would make one series per room), `unmatched` when no route matched;
  `method` is one of the HTTP methods we serve, else `OTHER`.
- `syncs_parked`: long-polling /sync (and sliding sync) requests waiting right now.
- `events_sent_total`: room events this server persisted.
- `db_pool_size`, `db_pool_in_use`: PostgreSQL connections open and lent out.
- `redis_connected` (1/0) and `redis_reconnects_total`: the Redis bus's link.
- `job_runs_total{worker}`, `job_failures_total{worker}`: background worker iterations.

Multiprocess mode (`bastion serve --workers N`): the supervisor calls
`prepare_metrics_directory(path)` before starting workers, so each worker writes its values to
files there (prometheus_client's multiprocess mode, chosen by PROMETHEUS_MULTIPROC_DIR, which is
prometheus_client's own switch and the one environment variable read outside config.py), and
`mark_process_dead(pid)` when a worker exits; a scrape then sums every process's files
(`MultiProcessCollector`). Metric objects are created on first use, never at import, so a
process forked after `prepare_metrics_directory` writes to files, not to its own memory.

Where they are served: a separate listener, `[metrics] port` on `[metrics] host` (127.0.0.1),
off by default; never on the client API port, so a reverse proxy cannot expose them by accident.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_wsgi_server,
    values,
)
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})
# /sync long-polls last up to 30 s by default, media uploads longer: buckets reach a minute.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True, slots=True)
class BastionMetrics:
    """Every metric this process reports (see the module docstring)."""

    http_requests: Counter
    http_latency: Histogram
    syncs_parked: Gauge
    events_sent: Counter
    db_pool_size: Gauge
    db_pool_in_use: Gauge
    redis_connected: Gauge
    redis_reconnects: Counter
    job_runs: Counter
    job_failures: Counter


@cache
def metrics() -> BastionMetrics:
    """This process's metrics, created (and registered) on first use."""
    return BastionMetrics(
        http_requests=Counter(
            "bastion_http_requests",
            "HTTP requests served, by method, route template and status class.",
            ("method", "route", "status_class"),
        ),
        http_latency=Histogram(
            "bastion_http_request_duration_seconds",
            "Time from request to the end of the response, by method and route template.",
            ("method", "route"),
            buckets=LATENCY_BUCKETS,
        ),
        syncs_parked=Gauge(
            "bastion_syncs_parked",
            "Long-polling syncs waiting for something new.",
            multiprocess_mode="livesum",
        ),
        events_sent=Counter("bastion_events_sent", "Room events persisted."),
        db_pool_size=Gauge(
            "bastion_db_pool_size",
            "Database connections open (PostgreSQL).",
            multiprocess_mode="livesum",
        ),
        db_pool_in_use=Gauge(
            "bastion_db_pool_in_use",
            "Database connections lent out (PostgreSQL).",
            multiprocess_mode="livesum",
        ),
        redis_connected=Gauge(
            "bastion_redis_connected",
            "1 while the link to Redis is up (the lowest of all processes).",
            multiprocess_mode="livemin",
        ),
        redis_reconnects=Counter("bastion_redis_reconnects", "Times the Redis link came back."),
        job_runs=Counter(
            "bastion_job_runs", "Background worker iterations that finished.", ("worker",)
        ),
        job_failures=Counter(
            "bastion_job_failures", "Background worker iterations that failed.", ("worker",)
        ),
    )


def method_label(method: str) -> str:
    """`method` when it is one we serve, else OTHER (clients choose the method)."""
    return method if method in KNOWN_METHODS else "OTHER"


def status_class(status: int) -> str:
    """`2xx`, `4xx`, ... for a status code."""
    return f"{status // 100}xx"


def note_redis_state(*, connected: bool, reconnected: bool = False) -> None:
    """Record the Redis link's state (the Redis bus calls this when it changes)."""
    metrics().redis_connected.set(1 if connected else 0)
    if reconnected:
        metrics().redis_reconnects.inc()


def multiprocess_directory() -> Path | None:
    """The directory of multiprocess mode, when this process runs in it."""
    path = os.environ.get(MULTIPROC_ENV)
    return Path(path) if path else None


def prepare_metrics_directory(path: Path) -> None:
    """Switch this process, and every process it starts afterwards, to multiprocess mode with
    `path` (created 0700) as the shared directory, emptied of a previous run's files.

    The supervisor calls it once, before starting any worker.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(path)
    # prometheus_client picks its value storage when first imported; re-pick it now, so that
    # metrics created from here on (in forked workers too) write to files.
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]  # untyped library


def mark_process_dead(pid: int) -> None:
    """Drop the live gauges of the worker process `pid`, which has exited (the supervisor calls
    it for each worker it reaps); its counters stay in the sums."""
    directory = multiprocess_directory()
    if directory is not None:
        multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]  # untyped library


def exposition_registry() -> Collector:
    """What a scrape reads: every process's files in multiprocess mode, else this process."""
    directory = multiprocess_directory()
    if directory is None:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]  # untyped library
    return registry


def render_metrics() -> bytes:
    """The Prometheus text exposition of `exposition_registry()`."""
    metrics()  # a process that has recorded nothing yet still lists every metric
    return generate_latest(exposition_registry())


class MetricsListener:
    """The `[metrics]` listener: an HTTP server in a daemon thread serving the exposition."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def close(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_metrics_listener(host: str, port: int) -> MetricsListener:
    """Serve the metrics on http://host:port/metrics (port 0: any free port).

    Raises:
        OSError: the port cannot be bound.
    """
    metrics()
    server, thread = start_wsgi_server(port, addr=host, registry=exposition_registry())
    return MetricsListener(server, thread)
