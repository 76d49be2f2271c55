"""`bastion serve --workers N`: the flag, and what the serving command needs around the
supervisor (cli/supervisor.py): the worker processes' command line and their side of it.

A worker process is `bastion serve --config PATH --listen-fd FD --supervisor-pid PID`: the same
program on the same config, serving the socket the supervisor bound and passed down instead of
binding its own, and ending with its supervisor.
`[server] workers` (or `--workers`) above 1 is refused by `validate` on SQLite or without
`[redis] url`, with the flag named when it came from the command line.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import socket
import sys
import tempfile
from pathlib import Path

import msgspec

from bastion.cli.common import CommandError
from bastion.cli.supervisor import ProcessSupervisor
from bastion.config import Config, ConfigError, validate
from bastion.observability.metrics import (
    MetricsListener,
    mark_process_dead,
    prepare_metrics_directory,
    start_metrics_listener,
)

log = logging.getLogger("bastion")

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def add_serve_args(serve: argparse.ArgumentParser) -> None:
    """`--workers N`, and the worker processes' own `--listen-fd`."""
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="processes serving the port together (overrides [server] workers; more than 1 "
        "needs PostgreSQL and [redis] url)",
    )
    # A worker process started by the supervisor serves the socket it inherited.
    serve.add_argument("--listen-fd", type=int, default=None, help=argparse.SUPPRESS)
    serve.add_argument("--supervisor-pid", type=int, default=None, help=argparse.SUPPRESS)


def with_workers(config: Config, workers: int | None) -> Config:
    """`config` with `--workers` in place of `[server] workers`, validated again (ConfigError:
    more than one needs PostgreSQL and [redis] url)."""
    if workers is None:
        return config
    config = msgspec.structs.replace(
        config, server=msgspec.structs.replace(config.server, workers=workers)
    )
    try:
        validate(config)
    except ConfigError as exc:
        raise ConfigError(f"--workers {workers}: {exc}") from None
    return config


def serve_workers(config: Config, path: Path, sock: socket.socket) -> int:
    """Run `[server] workers` processes on `sock` under a supervisor until SIGTERM/SIGINT.

    Prometheus multiprocess mode is switched on first (observability/metrics.py), in a private
    directory removed at exit, so the workers' metrics are summed; with `[metrics] port` the
    supervisor serves that sum.
    """
    fd = sock.fileno()

    def command(_index: int) -> list[str]:
        return [
            *bastion_program(), "serve", "--config", str(path),
            "--listen-fd", str(fd), "--supervisor-pid", str(os.getpid()),
        ]  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="bastion-metrics-") as metrics_dir:
        prepare_metrics_directory(Path(metrics_dir))
        listener = _metrics_listener(config)
        log.info(
            "Bastion supervising %d workers on http://%s:%d (supervisor pid %d)",
            config.server.workers,
            config.listen.host,
            config.listen.port,
            os.getpid(),
        )
        supervisor = ProcessSupervisor(
            config.server.workers, command, [fd], on_exit=mark_process_dead
        )
        try:
            return supervisor.run()
        finally:
            if listener is not None:
                listener.close()


def _metrics_listener(config: Config) -> MetricsListener | None:
    """`[metrics]`'s listener in the supervisor, serving the sum over the workers (which do not
    listen themselves in multiprocess mode); a busy port is logged, the workers still serve."""
    settings = config.metrics
    if not settings.port:
        return None
    try:
        listener = start_metrics_listener(settings.host, settings.port)
    except OSError as exc:
        log.error("cannot serve metrics on %s:%d: %s", settings.host, settings.port, exc)
        return None
    log.info("metrics of every worker on http://%s:%d/metrics", settings.host, listener.port)
    return listener


def bastion_program() -> list[str]:
    """How a worker process runs this program: the same interpreter, `-m bastion`."""
    return [sys.executable, "-m", "bastion"]


def die_with_parent(supervisor_pid: int | None) -> None:
    """Have the kernel send this worker SIGTERM when its supervisor dies (Linux), and stop now
    if it already has (it died before this call); elsewhere a worker outliving its supervisor
    must be stopped by hand."""
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if supervisor_pid is not None and os.getppid() != supervisor_pid:
        raise CommandError("the supervising process has exited")
