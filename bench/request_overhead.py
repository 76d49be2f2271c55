"""Per-request cost of the HTTP layer: server CPU per request for two cheap requests.

Starts `bastion serve` from this tree (SQLite, or a throwaway PostgreSQL with `--postgres`) on a
loopback port, registers one account, then sends `--requests` requests of each kind with
`--concurrency` in flight, over keep-alive connections:

- `whoami`: GET /_matrix/client/v3/account/whoami (edge + authentication + a tiny JSON body);
- `sync`: GET /_matrix/client/v3/sync?timeout=0&since=<current>&filter=<the fan-out bench's
  inline filter> with nothing new (edge + authentication + the sync service's "nothing
  changed" path).

Reports, per kind, the server process's CPU ms per request (utime + stime from /proc, so the
client's own CPU is not counted) and the throughput; `--repeat` runs each kind several times
and keeps every figure (the machine is shared: compare the minimum). Bounded by `--deadline`.

    .venv/bin/python bench/request_overhead.py --requests 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from benchlib import proc_cpu_s, set_toml_line
from loadclient import POLL_FILTER
from servers import Bastion, Postgres

PASSWORD = "bench password 1234"


async def _register(http: aiohttp.ClientSession) -> str:
    body: dict[str, Any] = {
        "username": "overhead",
        "password": PASSWORD,
        "auth": {"type": "m.login.dummy"},
    }
    for _ in range(3):
        async with http.post("/_matrix/client/v3/register", json=body) as resp:
            data = await resp.json()
        if resp.status == 200:
            return str(data["access_token"])
        if resp.status == 401 and "session" in data:
            body["auth"]["session"] = data["session"]
            continue
        raise RuntimeError(f"register -> {resp.status}: {data}")
    raise RuntimeError("register: gave up")


async def _run_kind(
    http: aiohttp.ClientSession,
    pid: int,
    *,
    path: str,
    params: dict[str, str],
    headers: dict[str, str],
    count: int,
    concurrency: int,
    stop_at: float,
) -> dict[str, Any]:
    remaining = count
    failures = 0

    async def worker() -> None:
        nonlocal remaining, failures
        while remaining > 0 and time.monotonic() < stop_at:
            remaining -= 1
            async with http.get(path, params=params, headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    failures += 1

    cpu0, t0 = proc_cpu_s(pid) or 0.0, time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu1, t1 = proc_cpu_s(pid) or 0.0, time.perf_counter()
    done = count - max(remaining, 0)
    return {
        "requests": done,
        "failures": failures,
        "server_cpu_ms_per_request": round((cpu1 - cpu0) * 1000 / done, 4) if done else None,
        "requests_per_s": round(done / (t1 - t0), 1) if t1 > t0 else None,
    }


async def _measure(server: Bastion, args: argparse.Namespace) -> dict[str, Any]:
    stop_at = time.monotonic() + args.deadline
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(
        base_url=server.base_url, connector=connector, trust_env=False
    ) as http:
        token = await _register(http)
        headers = {"Authorization": f"Bearer {token}"}
        async with http.get(
            "/_matrix/client/v3/sync", params={"timeout": "0"}, headers=headers
        ) as resp:
            since = (await resp.json())["next_batch"]
        kinds = {
            "whoami": ("/_matrix/client/v3/account/whoami", {}),
            "sync": (
                "/_matrix/client/v3/sync",
                {"timeout": "0", "since": since, "filter": POLL_FILTER},
            ),
        }
        kinds = {name: kind for name, kind in kinds.items() if name in args.kinds}
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in kinds}
        # Warm-up: imports, caches, prepared statements.
        for path, params in kinds.values():
            await _run_kind(
                http,
                server.pid,
                path=path,
                params=params,
                headers=headers,
                count=200,
                concurrency=4,
                stop_at=stop_at,
            )
        for _ in range(args.repeat):
            for name, (path, params) in kinds.items():
                results[name].append(
                    await _run_kind(
                        http,
                        server.pid,
                        path=path,
                        params=params,
                        headers=headers,
                        count=args.requests,
                        concurrency=args.concurrency,
                        stop_at=stop_at,
                    )
                )
        return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per kind and run")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL")
    parser.add_argument("--deadline", type=float, default=120.0, help="seconds of load at most")
    parser.add_argument(
        "--access-log", action="store_true", help="log at INFO, so the access log is written"
    )
    parser.add_argument(
        "--kinds", nargs="+", default=["whoami", "sync"], choices=["whoami", "sync"]
    )
    parser.add_argument(
        "--src", type=Path, help="serve the `bastion` package under this directory (A/B runs)"
    )
    args = parser.parse_args()
    pg = Postgres() if args.postgres else None
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        try:
            if pg is not None:
                pg.start()
            server = Bastion(Path(tmp) / "bastion", pg, "normal", args.src)
            if args.access_log:  # as deployed by default: level INFO, one line per request
                text = set_toml_line(server.config.read_text(), "logging", "level", '"INFO"')
                server.config.write_text(text)
            server.start()
            try:
                results = asyncio.run(_measure(server, args))
            finally:
                server.stop()
        finally:
            if pg is not None:
                pg.stop()
    summary = {
        name: {
            "min_cpu_ms": min(
                (r["server_cpu_ms_per_request"] for r in runs if r["requests"]), default=None
            ),
            "runs": runs,
        }
        for name, runs in results.items()
    }
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
