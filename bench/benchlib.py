"""Shared pieces of the benchmark: statistics, /proc sampling, a recording aiohttp client.

Used by bench/loadgen.py (the load generator) and bench/compare.py (the orchestrator). Nothing
here knows which homeserver it talks to.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

MAX_ERRORS_KEPT = 5
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- statistics ------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return None
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def latency_stats(seconds: list[float]) -> dict[str, float | int | None]:
    """count, p50/p95/p99/max/mean in milliseconds."""
    ms = sorted(s * 1000.0 for s in seconds)

    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 2)

    return {
        "count": len(ms),
        "p50_ms": r(percentile(ms, 50)),
        "p95_ms": r(percentile(ms, 95)),
        "p99_ms": r(percentile(ms, 99)),
        "max_ms": r(ms[-1] if ms else None),
        "mean_ms": r(sum(ms) / len(ms) if ms else None),
    }


def rate(count: float, seconds: float) -> float | None:
    return round(count / seconds, 2) if seconds > 0 else None


# --- /proc ------------------------------------------------------------------------------------


def proc_cpu_s(pid: int) -> float | None:
    """utime + stime of one process, in seconds (None if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # fields from #3 (state) on
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime (#14) + stime (#15)


def proc_mem_kib(pid: int) -> tuple[int | None, int | None]:
    """(VmRSS, VmHWM) of one process in KiB."""
    rss = hwm = None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return rss, hwm


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0, `echo 5 > /proc/PID/clear_refs`)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def children_of(parent: int) -> list[int]:
    """The parent and its direct children (a PostgreSQL postmaster and its backends)."""
    pids = [parent]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == parent:
            pids.append(int(entry.name))
    return pids


class ProcWatch:
    """CPU seconds and memory of the server process(es), plus the database's CPU if given.

    `server_pids` are the homeserver processes (RSS and CPU summed); `db_parent` is a PostgreSQL
    postmaster whose backends' CPU counts as database CPU (backends come and go, so their CPU is
    accumulated per pid as last seen); `redis_pid` a Redis server, reported as `redis_cpu_s`. A
    thread samples RSS every `interval` seconds so a peak is caught even where clear_refs is not
    allowed.
    """

    def __init__(
        self,
        server_pids: list[int],
        db_parent: int | None = None,
        interval: float = 0.2,
        redis_pid: int | None = None,
    ) -> None:
        self.server_pids = server_pids
        self.db_parent = db_parent
        self.redis_pid = redis_pid
        self.interval = interval
        self._db_cpu_seen: dict[int, float] = {}
        self._peak_sampled = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            rss = self.rss_kib()
            with self._lock:
                self._peak_sampled = max(self._peak_sampled, rss)
            if self.db_parent is not None:
                self.db_cpu_s()

    def rss_kib(self) -> int:
        return sum(proc_mem_kib(p)[0] or 0 for p in self.server_pids)

    def server_cpu_s(self) -> float:
        return sum(proc_cpu_s(p) or 0.0 for p in self.server_pids)

    def db_cpu_s(self) -> float | None:
        if self.db_parent is None:
            return None
        with self._lock:
            for pid in children_of(self.db_parent):
                cpu = proc_cpu_s(pid)
                if cpu is not None:
                    self._db_cpu_seen[pid] = max(cpu, self._db_cpu_seen.get(pid, 0.0))
            return sum(self._db_cpu_seen.values())

    def begin(self) -> dict[str, Any]:
        """Start of a measured phase: reset the peaks, return the counters."""
        resets = [reset_peak_rss(p) for p in self.server_pids]
        rss = self.rss_kib()
        with self._lock:
            self._peak_sampled = rss
        return {
            "t": time.perf_counter(),
            "cpu": self.server_cpu_s(),
            "db_cpu": self.db_cpu_s(),
            "redis_cpu": None if self.redis_pid is None else proc_cpu_s(self.redis_pid),
            "client_cpu": time.process_time(),
            "hwm_reset": all(resets),
            "rss_kib": rss,
        }

    def end(self, begun: dict[str, Any]) -> dict[str, Any]:
        """The phase's wall time, server/db/client CPU seconds and peak RSS."""
        wall = time.perf_counter() - begun["t"]
        cpu = self.server_cpu_s() - begun["cpu"]
        db = self.db_cpu_s()
        rss = self.rss_kib()
        with self._lock:
            sampled = max(self._peak_sampled, rss)
        hwm = sum(proc_mem_kib(p)[1] or 0 for p in self.server_pids)
        out: dict[str, Any] = {
            "wall_s": round(wall, 3),
            "server_cpu_s": round(cpu, 3),
            "server_cpu_util": round(cpu / wall, 3) if wall > 0 else None,
            "server_rss_start_kib": begun["rss_kib"],
            "server_rss_end_kib": rss,
            # VmHWM since the reset at the start of the phase; if reset was not allowed it is
            # the peak since the process started, so the sampled peak is given as well.
            "server_peak_rss_kib": hwm if begun["hwm_reset"] else sampled,
            "server_peak_rss_sampled_kib": sampled,
            "loadgen_cpu_s": round(time.process_time() - begun["client_cpu"], 3),
        }
        if db is not None and begun["db_cpu"] is not None:
            out["db_cpu_s"] = round(db - begun["db_cpu"], 3)
        redis = None if self.redis_pid is None else proc_cpu_s(self.redis_pid)
        if redis is not None and begun["redis_cpu"] is not None:
            out["redis_cpu_s"] = round(redis - begun["redis_cpu"], 3)
        return out


# --- HTTP recording ---------------------------------------------------------------------------


class Recorder:
    """Counts statuses and keeps the first few failures verbatim (request and response)."""

    def __init__(self) -> None:
        self.statuses: dict[str, int] = {}
        self.errors: list[dict[str, Any]] = []
        self.error_count = 0

    def status(self, code: int | str) -> None:
        self.statuses[str(code)] = self.statuses.get(str(code), 0) + 1

    def error(self, method: str, url: str, body: Any, status: int | str, response: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(
                {
                    "request": f"{method} {url}",
                    "request_body": body,
                    "status": status,
                    "response": response[:2000],
                }
            )

    def report(self) -> dict[str, Any]:
        return {
            "http_statuses": dict(sorted(self.statuses.items())),
            "error_count": self.error_count,
            "errors": self.errors,
        }


def merge_reports(*recs: Recorder) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    errors: list[dict[str, Any]] = []
    for rec in recs:
        for k, v in rec.statuses.items():
            statuses[k] = statuses.get(k, 0) + v
        errors.extend(rec.errors)
    return {
        "http_statuses": dict(sorted(statuses.items())),
        "error_count": sum(r.error_count for r in recs),
        "errors": errors[:MAX_ERRORS_KEPT],
    }


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def within(self, seconds: float) -> float:
        """A monotonic time `seconds` from now, but never past the overall deadline."""
        return min(self.end, time.monotonic() + seconds)


def set_toml_line(
    text: str, table: str, key: str, value: str, *, error: type[Exception] = ValueError
) -> str:
    """Replace `key = ...` in `[table]` of a TOML file rendered by `bastion init`."""
    lines = text.splitlines()
    current = ""
    for index, line in enumerate(lines):
        if line.startswith("["):
            current = line.strip().strip("[]")
        elif current == table and line.startswith(f"{key} = "):
            lines[index] = f"{key} = {value}"
            return "\n".join(lines) + "\n"
    raise error(f"no line {key!r} in [{table}] of the generated bastion.toml")


async def drop_schema(url: str, schema: str) -> None:
    """Drop a benchmark's PostgreSQL schema (asyncpg is imported here: only in-process
    benchmarks on PostgreSQL need it)."""
    import asyncpg  # noqa: PLC0415 - see docstring

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()
