"""Bastion against Synapse, one after the other on this machine, with the same load.

Run through the `bench/compare` wrapper:

    bench/compare [--postgres] [--bastion-workers 1,2] [--keep] [--quick]
                  [--only synapse|bastion] [load options]

1. Installs Synapse from PyPI into bench/.venv-synapse (ignored by git) unless it is already
   there, with `python3 -m venv` and `pip install matrix-synapse` (`[postgres]` for --postgres).
2. With --postgres, starts a throwaway PostgreSQL on a free loopback port (the approach of
   scripts/with-postgres: Debian package, initdb as the postgres user in a temporary folder)
   with one database for each server, and stops it at the end.
3. For Synapse, then Bastion: writes its config (loopback on a free port, the database, open
   registration with m.login.dummy, rate limits raised to 100000/s, cheap password hashing,
   logging at WARNING, no presence), starts it, runs bench/loadgen.py against it with the
   server's pid (and the postmaster's), and stops it.
4. Prints a Markdown table: every figure for Synapse, for Bastion, and Bastion / Synapse, with
   the issue's target where there is one. The table and all raw JSON go to bench/out/.

Every step is bounded: installs and starts by timeouts, the load by loadgen's counts and its
deadline, each server's stop by SIGTERM then SIGKILL.
"""

# A measurement script: fixed argv subprocesses, long linear steps.
# ruff: noqa: S603

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import proc_mem_kib
from redis_server import Redis
from report import render_markdown
from servers import (
    HERE,
    HOST,
    OUT_ROOT,
    REPO,
    Bastion,
    CompareError,
    Postgres,
    Server,
    export_ref,
    git_commit,
    log,
)
from synapse_server import Synapse, ensure_synapse


def run_loadgen(
    server: Server, pg: Postgres | None, redis: Redis | None, load_args: list[str], deadline: float
) -> Any:
    argv = [
        str(REPO / ".venv" / "bin" / "python"),
        str(HERE / "loadgen.py"),
        "--base-url",
        server.base_url,
        *[a for pid in server.pids() for a in ("--pid", str(pid))],
        "--deadline",
        str(deadline),
        *load_args,
    ]
    if pg is not None:
        argv += ["--db-parent-pid", str(pg.postmaster_pid())]
    if redis is not None:
        argv += ["--redis-pid", str(redis.pid)]
    try:
        r = subprocess.run(
            argv,
            stdout=subprocess.PIPE,
            stderr=None,
            text=True,
            timeout=deadline + 120,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CompareError(f"loadgen did not finish within {deadline + 120:.0f} s") from exc
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError as exc:
        raise CompareError(
            f"loadgen printed no JSON (exit {r.returncode}): {r.stdout[-2000:]}"
        ) from exc


def rss_kib(pids: list[int]) -> int:
    return sum(proc_mem_kib(pid)[0] or 0 for pid in pids)


def load_average() -> list[float] | None:
    with contextlib.suppress(OSError, ValueError):
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    return None


def measure(
    server: Server,
    pg: Postgres | None,
    redis: Redis | None,
    load_args: list[str],
    deadline: float,
) -> dict[str, Any]:
    out: dict[str, Any] = {"started_at": time.strftime("%H:%M:%S", time.gmtime())}
    t0 = time.perf_counter()
    try:
        log(f"starting {server.name} on {server.base_url}")
        out["start_s"] = server.start()
        out["pid"] = server.pid
        out["pids"] = server.pids()
        out["background_updates_wait_s"] = server.wait_until_idle()
        out["rss_after_start_kib"] = rss_kib(server.pids())
        out["load_average_before"] = load_average()
        log(f"{server.name} ready after {out['start_s']} s; running the load")
        out["loadgen"] = run_loadgen(server, pg, redis, load_args, deadline)
        out["load_average_after"] = load_average()
        out["rss_at_end_kib"] = rss_kib(server.pids())
        if pg is not None:  # connections the server holds at the end (pool sizes, leases)
            db = server.database if isinstance(server, Bastion) else "synapse"
            with contextlib.suppress(CompareError, ValueError, subprocess.TimeoutExpired):
                sql = f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}'"  # noqa: S608
                out["db_connections_at_end"] = int(pg.psql(sql))
    except CompareError as exc:
        out["error"] = str(exc)
        log(f"{server.name}: {exc}")
    finally:
        out["stop"] = server.stop()
        out["log"] = server.log_summary()
        out["total_s"] = round(time.perf_counter() - t0, 1)
    log(f"{server.name} done in {out['total_s']} s (stop: {out['stop']})")
    return out


# --- main ----------------------------------------------------------------------------------------


QUICK = [
    "--send-messages",
    "200",
    "--history-events",
    "500",
    "--initial-sync-rooms",
    "20,50",
    "--fanout-members",
    "10,30",
    "--fanout-messages",
    "5",
]


def workers_list(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        values = []
    if not values or any(not 1 <= v <= 16 for v in values):
        raise argparse.ArgumentTypeError("a comma-separated list of numbers from 1 to 16")
    return values


def parse_args() -> tuple[argparse.Namespace, list[str]]:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Any other option is passed to bench/loadgen.py (see its --help).",
    )
    p.add_argument("--postgres", action="store_true", help="both servers on PostgreSQL")
    p.add_argument("--only", choices=("synapse", "bastion"), help="run one server only")
    p.add_argument("--quick", action="store_true", help="tiny counts, to check the harness")
    p.add_argument("--keep", action="store_true", help="keep the servers' folders and logs")
    p.add_argument(
        "--bastion-sqlite-synchronous",
        choices=("normal", "full"),
        default="normal",
        help="Bastion's database.sqlite_synchronous (its default is normal)",
    )
    p.add_argument(
        "--pg-slow-ms",
        type=int,
        help="PostgreSQL: log statements slower than this (log_min_duration_statement); "
        "the log is kept in the output folder",
    )
    p.add_argument(
        "--bastion-ref",
        help="run Bastion from this git commit (exported with git archive) instead of the "
        "working tree, e.g. HEAD while bastion/ has uncommitted edits",
    )
    p.add_argument(
        "--deadline", type=float, default=700.0, help="bound of each server's load run, seconds"
    )
    p.add_argument(
        "--bastion-workers",
        type=workers_list,
        default=[1],
        help="Bastion variants to measure, e.g. 1,2: N > 1 runs `bastion serve --workers N` on "
        "PostgreSQL with a throwaway Redis, each variant on a fresh database (needs --postgres)",
    )
    args, rest = p.parse_known_args()
    if max(args.bastion_workers) > 1 and not args.postgres:
        p.error("--bastion-workers above 1 needs --postgres")
    if args.quick:
        rest = QUICK + rest
    return args, rest


def machine() -> dict[str, Any]:
    mem_kib = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def measure_all(
    args: argparse.Namespace,
    servers: list[str],
    services: tuple[Postgres | None, Redis | None, Path | None],
    work: Path,
    load_args: list[str],
    result: dict[str, Any],
) -> None:
    """Synapse, then each Bastion variant of --bastion-workers, one after the other."""
    pg, redis, src = services
    for name in servers:
        for workers in args.bastion_workers if name == "bastion" else [1]:
            server: Server = (
                Synapse(work / name, pg)
                if name == "synapse"
                else Bastion(
                    work / f"{name}-{workers}",
                    pg,
                    args.bastion_sqlite_synchronous,
                    src,
                    workers,
                    None if redis is None else redis.url,
                )
            )
            # Redis's CPU is measured only for the variants that use it.
            uses_redis = redis if isinstance(server, Bastion) and workers > 1 else None
            out = result["servers"][server.name] = measure(
                server, pg, uses_redis, load_args, args.deadline
            )
            if isinstance(server, Bastion):
                out["module"] = server.module
                out["workers"] = workers
            with contextlib.suppress(CompareError, ValueError, subprocess.TimeoutExpired):
                if pg is not None:  # what the run left on disk, for sizing (docs/scaling.md)
                    db = server.database if isinstance(server, Bastion) else "synapse"
                    out["database_bytes"] = int(pg.psql(f"SELECT pg_database_size('{db}')"))
                if uses_redis is not None:
                    out["redis_memory"] = uses_redis.memory()


def main() -> int:
    args, load_args = parse_args()
    t_all = time.perf_counter()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    db_kind = "postgres" if args.postgres else "sqlite"
    out_dir = OUT_ROOT / f"{stamp}-{db_kind}"
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-compare."))
    command = "bench/compare " + " ".join(sys.argv[1:])
    result: dict[str, Any] = {
        "command": command.strip(),
        "database": db_kind,
        "machine": machine(),
        "bastion_commit": git_commit() if args.bastion_ref is None else None,
        "bastion_sqlite_synchronous": None if args.postgres else args.bastion_sqlite_synchronous,
        "load_args": load_args,
        "servers": {},
    }
    pg: Postgres | None = None
    redis: Redis | None = None
    try:
        servers = ["synapse", "bastion"] if args.only is None else [args.only]
        if "synapse" in servers:
            result["synapse"] = ensure_synapse(args.postgres, out_dir)
            log(f"Synapse {result['synapse']['version']}")
        if args.postgres:
            pg = Postgres(args.pg_slow_ms)
            pg.start()
            result["postgres_version"] = pg.version()
            log(f"PostgreSQL {result['postgres_version']} on {HOST}:{pg.port}")
        src = None
        if args.bastion_ref is not None and "bastion" in servers:
            src = work / "bastion-src"
            result["bastion_commit"] = export_ref(args.bastion_ref, src)
            log(f"Bastion from commit {result['bastion_commit']} ({args.bastion_ref})")
        if "bastion" in servers and max(args.bastion_workers) > 1:
            redis = Redis()
            redis.start()
            result["redis_version"] = redis.version()
            log(f"Redis {result['redis_version']} on {HOST}:{redis.port}")
        measure_all(args, servers, (pg, redis, src), work, load_args, result)
    except (CompareError, subprocess.TimeoutExpired, OSError) as exc:
        result["error"] = str(exc)
        log(f"error: {exc}")
    except KeyboardInterrupt:
        result["error"] = "interrupted"
    finally:
        if pg is not None:
            pg.stop(keep_log=out_dir / "postgres.log")
        if redis is not None:
            redis.stop()
        if args.keep:
            result["kept_dir"] = str(work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    result["total_s"] = round(time.perf_counter() - t_all, 1)
    return finish(result, out_dir)


def finish(result: dict[str, Any], out_dir: Path) -> int:
    """Write result.json and table.md, print the table; 1 if anything failed."""
    (out_dir / "result.json").write_text(json.dumps(result, indent=2))
    table = render_markdown(result)
    (out_dir / "table.md").write_text(table)
    print(table)
    log(f"total {result['total_s']} s; raw results in {out_dir}")
    failed = "error" in result or any("error" in s for s in result["servers"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
