"""A throwaway Redis for bench/compare's multi-process Bastion: loopback, a free port, no
persistence, in a temporary folder (the approach of scripts/with-redis), stopped and removed
at the end whatever happened."""

# ruff: noqa: S603, S607, RUF005

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from servers import HOST, CompareError, free_port, run


class Redis:
    """`redis-server` daemonised on HOST:port; `pid` is what the load generator watches."""

    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            raise CompareError("redis-server not found: install the Debian package redis-server")
        self.dir = Path(tempfile.mkdtemp(prefix="bench-redis."))
        self.port = free_port()
        self.started = False

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        run(
            ["redis-server", "--bind", HOST, "--port", str(self.port), "--save", ""]
            + ["--appendonly", "no", "--dir", str(self.dir), "--daemonize", "yes"]
            + ["--pidfile", str(self.dir / "redis.pid"), "--logfile", str(self.dir / "log")],
            timeout=30,
            what="redis-server",
        )
        self.started = True
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ping = subprocess.run(
                ["redis-cli", "-h", HOST, "-p", str(self.port), "ping"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
            if ping.stdout.strip() == "PONG" and (self.dir / "redis.pid").exists():
                return
            time.sleep(0.1)
        raise CompareError(f"Redis did not answer on {HOST}:{self.port}")

    @property
    def pid(self) -> int:
        return int((self.dir / "redis.pid").read_text().split()[0])

    def version(self) -> str:
        out = run(["redis-server", "--version"], timeout=10, what="redis-server --version")
        words = [w for w in out.stdout.split() if w.startswith("v=")]
        return words[0][2:] if words else out.stdout.strip()

    def memory(self) -> dict[str, int]:
        """`INFO memory`'s used_memory and used_memory_peak, in bytes."""
        out = run(
            ["redis-cli", "-h", HOST, "-p", str(self.port), "info", "memory"],
            timeout=10,
            what="redis-cli info memory",
        )
        fields = dict(ln.strip().split(":", 1) for ln in out.stdout.splitlines() if ":" in ln)
        keys = ("used_memory", "used_memory_peak")
        return {k: int(fields[k]) for k in keys if fields.get(k, "").isdigit()}

    def stop(self) -> None:
        if self.started:
            pid = self.pid
            subprocess.run(
                ["redis-cli", "-h", HOST, "-p", str(self.port), "shutdown", "nosave"],
                capture_output=True,
                timeout=15,
                check=False,
            )
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # only if shutdown did not end it
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)
