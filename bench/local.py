"""A small, bounded, loopback-only measurement of a fresh Bastion server.

Run:  .venv/bin/python bench/local.py [--messages N] [--clients M] [--sync-messages K]

It starts `bastion serve` on a free 127.0.0.1 port with a SQLite database in a temporary
directory (rate limits raised so the limiter is not what is measured, argon2 at its lowest
cost), creates accounts with the CLI, logs them in over HTTP, then runs:

  send          one sender, N messages one after another into one room; then 8 concurrent
                senders (same account, distinct txn ids) for N messages in total.
  sync-latency  M clients long-polling /sync in one public room; a sender sends K messages one
                at a time and waits until every client has seen each one (10 s deadline each).

Server CPU seconds and memory (from /proc) are sampled before and after each scenario.
One JSON object goes to stdout, a short human summary to stderr. Everything is bounded:
counts are fixed, every request has a timeout, and the whole run has a deadline (--deadline,
default 300 s) after which the remaining work is abandoned and partial numbers are reported.
The server is stopped at the end (SIGTERM, then SIGKILL).
"""

# A measurement script, not server code: fixed argv subprocesses, long linear scenarios.
# ruff: noqa: S603, C901, PLR0915, PLR0917

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

import httpx

HOST = "127.0.0.1"
SERVER_NAME = "bench.local"
PASSWORD = "correct horse battery staple"
CLI_TIMEOUT = 30.0
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
REQUEST_TIMEOUT = 30.0  # ordinary requests
SYNC_TIMEOUT_MS = 30000  # long-poll timeout asked of the server
SYNC_HTTP_TIMEOUT = SYNC_TIMEOUT_MS / 1000 + 15.0  # client-side bound on one long poll
PER_MESSAGE_DEADLINE = 10.0
CONCURRENT_SENDERS = 8
WARMUP_MESSAGES = 20
MAX_ERRORS_KEPT = 5
TIMELINE_FILTER = json.dumps({"room": {"timeline": {"limit": 5}}}, separators=(",", ":"))

FAST_AUTH = {"argon2_time_cost": "1", "argon2_memory_kib": "1024", "argon2_parallelism": "1"}
HIGH_LIMIT = {"per_second": "100000.0", "burst": "100000"}


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def passed(self) -> bool:
        return self.left() <= 0


class BenchError(Exception):
    pass


# --- statistics ------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (as numpy's default)."""
    if not sorted_values:
        return None
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def latency_stats(seconds: list[float]) -> dict[str, float | int | None]:
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


# --- server process ----------------------------------------------------------------------------


def proc_sample(pid: int) -> dict[str, float | int | None]:
    """CPU seconds (utime+stime) and memory (VmRSS, VmHWM in KiB) of one process."""
    out: dict[str, float | int | None] = {"cpu_s": None, "rss_kib": None, "peak_rss_kib": None}
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()  # fields from #3 (state) on
        ticks = int(fields[11]) + int(fields[12])  # utime (#14) + stime (#15)
        out["cpu_s"] = round(ticks / os.sysconf("SC_CLK_TCK"), 3)
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss_kib"] = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                out["peak_rss_kib"] = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return out


def resource_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    cpu = None
    if before.get("cpu_s") is not None and after.get("cpu_s") is not None:
        cpu = round(after["cpu_s"] - before["cpu_s"], 3)
    return {"before": before, "after": after, "cpu_s_used": cpu}


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("BASTION_CONFIG", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_cli(
    *args: str, input_text: str = "", timeout: float = CLI_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bastion", *args],
        input=input_text,
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def set_toml_line(text: str, table: str, key: str, value: str) -> str:
    lines = text.splitlines()
    current = ""
    for index, line in enumerate(lines):
        if line.startswith("["):
            current = line.strip().strip("[]")
        elif current == table and line.startswith(f"{key} = "):
            lines[index] = f"{key} = {value}"
            return "\n".join(lines) + "\n"
    raise BenchError(f"no line {key!r} in [{table}] of the generated bastion.toml")


class Server:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        result = run_cli("init", "--dir", str(directory), "--server-name", SERVER_NAME)
        if result.returncode != 0:
            raise BenchError(f"bastion init failed ({result.returncode}): {result.stderr}")
        self.config_path = directory / "bastion.toml"
        self.port = free_port()
        text = self.config_path.read_text(encoding="utf-8")
        text = set_toml_line(text, "listen", "host", f'"{HOST}"')
        text = set_toml_line(text, "listen", "port", str(self.port))
        for key, value in FAST_AUTH.items():
            text = set_toml_line(text, "auth", key, value)
        for table in ("rate_limits.requests_per_user", "rate_limits.login_per_ip"):
            for key, value in HIGH_LIMIT.items():
                text = set_toml_line(text, table, key, value)
        self.config_path.write_text(text, encoding="utf-8")
        self.log_path = directory / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def create_user(self, localpart: str) -> str:
        last = ""
        for _ in range(3):  # a concurrent CLI may briefly hold the SQLite write lock
            r = run_cli(
                "user",
                "create",
                localpart,
                "--password-stdin",
                "--config",
                str(self.config_path),
                input_text=PASSWORD + "\n",
            )
            if r.returncode == 0:
                return f"@{localpart}:{SERVER_NAME}"
            last = f"exit {r.returncode}: stdout={r.stdout!r} stderr={r.stderr!r}"
            time.sleep(0.2)
        raise BenchError(f"bastion user create {localpart} failed: {last}")

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bastion", "serve", "--config", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.directory,
            env=child_env(),
        )
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client(timeout=1.0, trust_env=False) as http:
            while True:
                code = self.process.poll()
                if code is not None:
                    raise BenchError(f"bastion serve exited with {code}:\n{self.log_text()}")
                try:
                    if http.get(f"{self.base_url}/_matrix/client/versions").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise BenchError(
                        f"bastion serve did not answer in {START_TIMEOUT}s:\n{self.log_text()}"
                    )
                time.sleep(0.05)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def sample(self) -> dict[str, Any]:
        return proc_sample(self.pid) if self.process is not None else {}

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def stop(self) -> dict[str, Any]:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT; says how long it took and how it ended."""
        process, self.process = self.process, None
        info: dict[str, Any] = {"exit_code": None, "stop_s": None, "killed": False}
        if process is not None:
            t0 = time.monotonic()
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                info["exit_code"] = process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                info["killed"] = True
                info["exit_code"] = process.wait(timeout=STOP_TIMEOUT)
            info["stop_s"] = round(time.monotonic() - t0, 3)
        if self._log is not None:
            self._log.close()
            self._log = None
        return info


# --- HTTP helpers --------------------------------------------------------------------------------


class Recorder:
    """Counts statuses and keeps the first few failures verbatim."""

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


async def call(
    http: httpx.AsyncClient,
    rec: Recorder,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: Any = None,
    request_timeout: float = REQUEST_TIMEOUT,
) -> tuple[int, Any]:
    """One request; returns (status, parsed JSON or text). Transport errors give status 0."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        resp = await http.request(method, path, json=body, headers=headers, timeout=request_timeout)
    except httpx.HTTPError as exc:
        rec.status("transport_error")
        rec.error(method, path, body, "transport_error", f"{type(exc).__name__}: {exc}")
        return 0, None
    rec.status(resp.status_code)
    if resp.status_code != 200:
        rec.error(method, path, body, resp.status_code, resp.text)
    try:
        return resp.status_code, resp.json()
    except ValueError:
        return resp.status_code, resp.text


async def must(http: httpx.AsyncClient, rec: Recorder, method: str, path: str, **kw: Any) -> Any:
    status, data = await call(http, rec, method, path, **kw)
    if status != 200:
        raise BenchError(f"{method} {path} -> {status}: {data!r}")
    return data


async def login(http: httpx.AsyncClient, rec: Recorder, localpart: str) -> str:
    data = await must(
        http,
        rec,
        "POST",
        "/_matrix/client/v3/login",
        body={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart},
            "password": PASSWORD,
            "initial_device_display_name": "bench",
        },
    )
    return str(data["access_token"])


def send_path(room_id: str, txn: str) -> str:
    return (
        f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id, safe='')}/send/m.room.message/{txn}"
    )


# --- scenario: send ------------------------------------------------------------------------------


async def scenario_send(
    http: httpx.AsyncClient,
    server: Server,
    token: str,
    n: int,
    deadline: Deadline,
    budget: float,
) -> dict[str, Any]:
    rec = Recorder()
    room = await must(
        http,
        rec,
        "POST",
        "/_matrix/client/v3/createRoom",
        token=token,
        body={"preset": "private_chat", "name": "bench send"},
    )
    room_id = room["room_id"]
    run_id = f"{time.time_ns()}"

    # Warm-up (not measured): connection set-up, first-use paths, caches.
    for i in range(WARMUP_MESSAGES):
        await call(
            http,
            rec,
            "PUT",
            send_path(room_id, f"w{run_id}.{i}"),
            token=token,
            body={"msgtype": "m.text", "body": f"warm-up {i}"},
        )

    result: dict[str, Any] = {
        "room_id": room_id,
        "requested": n,
        "warmup_messages": WARMUP_MESSAGES,
    }

    # Sequential.
    before = server.sample()
    cpu0 = time.process_time()
    stop_at = min(deadline.end, time.monotonic() + budget)
    lat: list[float] = []
    failed = 0
    t_start = time.perf_counter()
    for i in range(n):
        if time.monotonic() >= stop_at:
            break
        t0 = time.perf_counter()
        status, data = await call(
            http,
            rec,
            "PUT",
            send_path(room_id, f"s{run_id}.{i}"),
            token=token,
            body={"msgtype": "m.text", "body": f"seq {i}"},
        )
        t1 = time.perf_counter()
        if status == 200 and isinstance(data, dict) and "event_id" in data:
            lat.append(t1 - t0)
        else:
            failed += 1
    elapsed = time.perf_counter() - t_start
    result["sequential"] = {
        "sent_ok": len(lat),
        "failed": failed,
        "elapsed_s": round(elapsed, 3),
        "msgs_per_s": round(len(lat) / elapsed, 1) if elapsed > 0 else None,
        "latency": latency_stats(lat),
        # Does a send get slower as the room grows? p50 of the first and last tenth.
        "first_tenth_p50_ms": latency_stats(lat[: max(1, len(lat) // 10)])["p50_ms"],
        "last_tenth_p50_ms": latency_stats(lat[-max(1, len(lat) // 10) :])["p50_ms"],
        "hit_time_budget": len(lat) + failed < n,
        "server": resource_delta(before, server.sample()),
        "client_cpu_s": round(time.process_time() - cpu0, 3),
    }

    # Concurrent: CONCURRENT_SENDERS workers share one counter, N messages in total.
    before = server.sample()
    cpu0 = time.process_time()
    stop_at = min(deadline.end, time.monotonic() + budget)
    clat: list[float] = []
    cfailed = 0
    next_index = 0

    async def worker(w: int) -> None:
        nonlocal next_index, cfailed
        while next_index < n and time.monotonic() < stop_at:
            i = next_index
            next_index += 1
            t0 = time.perf_counter()
            status, data = await call(
                http,
                rec,
                "PUT",
                send_path(room_id, f"c{run_id}.{w}.{i}"),
                token=token,
                body={"msgtype": "m.text", "body": f"conc {i}"},
            )
            t1 = time.perf_counter()
            if status == 200 and isinstance(data, dict) and "event_id" in data:
                clat.append(t1 - t0)
            else:
                cfailed += 1

    t_start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(CONCURRENT_SENDERS)))
    elapsed = time.perf_counter() - t_start
    result["concurrent"] = {
        "senders": CONCURRENT_SENDERS,
        "sent_ok": len(clat),
        "failed": cfailed,
        "elapsed_s": round(elapsed, 3),
        "msgs_per_s": round(len(clat) / elapsed, 1) if elapsed > 0 else None,
        "latency": latency_stats(clat),
        "hit_time_budget": len(clat) + cfailed < n,
        "server": resource_delta(before, server.sample()),
        "client_cpu_s": round(time.process_time() - cpu0, 3),
    }
    result["http_statuses"] = rec.statuses
    result["errors"] = rec.errors
    result["error_count"] = rec.error_count
    return result


# --- scenario: sync-latency ---------------------------------------------------------------------


async def scenario_sync(
    http: httpx.AsyncClient,
    server: Server,
    sender_token: str,
    client_tokens: list[str],
    k: int,
    deadline: Deadline,
    budget: float,
    poll_http: list[httpx.AsyncClient],
) -> dict[str, Any]:
    """`poll_http[i]` carries client i's requests (all the same object with --shared-client)."""
    rec = Recorder()
    sync_rec = Recorder()
    m = len(client_tokens)
    room = await must(
        http,
        rec,
        "POST",
        "/_matrix/client/v3/createRoom",
        token=sender_token,
        body={"preset": "public_chat", "name": "bench sync"},
    )
    room_id = room["room_id"]
    room_q = urllib.parse.quote(room_id, safe="")
    sem = asyncio.Semaphore(16)

    async def join(tok: str) -> None:
        async with sem:
            await must(http, rec, "POST", f"/_matrix/client/v3/join/{room_q}", token=tok, body={})

    t = time.perf_counter()
    await asyncio.gather(*(join(tok) for tok in client_tokens))
    join_s = time.perf_counter() - t

    filt = urllib.parse.quote(TIMELINE_FILTER, safe="")

    # Initial syncs (timeout=0) give each client its since token.
    async def initial(i: int, tok: str) -> tuple[str, float]:
        async with sem:
            t0 = time.perf_counter()
            data = await must(
                poll_http[i],
                sync_rec,
                "GET",
                f"/_matrix/client/v3/sync?filter={filt}&timeout=0",
                token=tok,
            )
            return str(data["next_batch"]), time.perf_counter() - t0

    t = time.perf_counter()
    initial_results = await asyncio.gather(
        *(initial(i, tok) for i, tok in enumerate(client_tokens))
    )
    initial_s = time.perf_counter() - t
    since = [r[0] for r in initial_results]
    initial_lat = [r[1] for r in initial_results]

    seen: dict[str, dict[int, float]] = {}
    all_seen: dict[str, asyncio.Event] = {}
    stop = asyncio.Event()
    polls = [0] * m
    empty_polls = [0] * m

    def record(client: int, event_id: str, when: float) -> None:
        clients = seen.setdefault(event_id, {})
        if client not in clients:
            clients[client] = when
            if len(clients) >= m:
                all_seen.setdefault(event_id, asyncio.Event()).set()

    async def poller(client: int, tok: str) -> None:
        token = since[client]
        while not stop.is_set():
            path = (
                f"/_matrix/client/v3/sync?filter={filt}&timeout={SYNC_TIMEOUT_MS}"
                f"&since={urllib.parse.quote(token, safe='')}"
            )
            status, data = await call(
                poll_http[client],
                sync_rec,
                "GET",
                path,
                token=tok,
                request_timeout=SYNC_HTTP_TIMEOUT,
            )
            now = time.perf_counter()
            polls[client] += 1
            if status != 200 or not isinstance(data, dict):
                await asyncio.sleep(0.5)
                continue
            token = str(data.get("next_batch", token))
            events = (
                data.get("rooms", {})
                .get("join", {})
                .get(room_id, {})
                .get("timeline", {})
                .get("events", [])
            )
            if not events:
                empty_polls[client] += 1
            for ev in events:
                if "event_id" in ev:
                    record(client, ev["event_id"], now)

    before = server.sample()
    cpu0 = time.process_time()
    pollers = [asyncio.create_task(poller(i, tok)) for i, tok in enumerate(client_tokens)]
    await asyncio.sleep(0.5)  # let every long poll reach the server

    stop_at = min(deadline.end, time.monotonic() + budget)
    sends: list[tuple[str, float]] = []
    send_lat: list[float] = []
    incomplete: list[dict[str, Any]] = []
    send_failed = 0
    run_id = f"{time.time_ns()}"
    t_phase = time.perf_counter()
    for i in range(k):
        if time.monotonic() >= stop_at:
            break
        t0 = time.perf_counter()
        status, data = await call(
            http,
            rec,
            "PUT",
            send_path(room_id, f"y{run_id}.{i}"),
            token=sender_token,
            body={"msgtype": "m.text", "body": f"sync {i}"},
        )
        send_lat.append(time.perf_counter() - t0)
        if status != 200 or not isinstance(data, dict) or "event_id" not in data:
            send_failed += 1
            continue
        event_id = data["event_id"]
        sends.append((event_id, t0))
        ev = all_seen.setdefault(event_id, asyncio.Event())
        wait = min(PER_MESSAGE_DEADLINE, max(0.0, stop_at - time.monotonic()))
        try:
            await asyncio.wait_for(ev.wait(), wait)
        except TimeoutError:
            got = len(seen.get(event_id, {}))
            incomplete.append({"event_id": event_id, "seen_by": got, "of": m})
    phase_s = time.perf_counter() - t_phase

    # Drain: one more (unmeasured) message answers every pending long poll, so the pollers end
    # their loops and the server holds no abandoned request (those delay its SIGTERM exit).
    stop.set()
    await call(
        http,
        rec,
        "PUT",
        send_path(room_id, f"y{run_id}.drain"),
        token=sender_token,
        body={"msgtype": "m.text", "body": "drain"},
    )
    _, pending = await asyncio.wait(pollers, timeout=5.0)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pollers, return_exceptions=True)
    after = server.sample()
    client_cpu = round(time.process_time() - cpu0, 3)

    lat: list[float] = []
    for event_id, t0 in sends:
        for when in seen.get(event_id, {}).values():
            lat.append(when - t0)
    expected = len(sends) * m
    return {
        "room_id": room_id,
        "clients": m,
        "messages_requested": k,
        "messages_sent": len(sends),
        "send_failed": send_failed,
        "join_s": round(join_s, 3),
        "initial_sync": {"elapsed_s": round(initial_s, 3), "latency": latency_stats(initial_lat)},
        "deliveries": len(lat),
        "deliveries_expected": expected,
        "deliveries_missed": expected - len(lat),
        "messages_not_seen_by_all": incomplete[:MAX_ERRORS_KEPT],
        "messages_not_seen_by_all_count": len(incomplete),
        "elapsed_s": round(phase_s, 3),
        "deliveries_per_s": round(len(lat) / phase_s, 1) if phase_s > 0 else None,
        "delivery_latency": latency_stats(lat),
        "send_request_latency": latency_stats(send_lat),
        "long_polls": sum(polls),
        "long_polls_without_room_events": sum(empty_polls),
        "pollers_cancelled_at_end": len(pending),
        "hit_time_budget": len(sends) + send_failed < k,
        "server": resource_delta(before, after),
        "client_cpu_s": client_cpu,
        "http_statuses": {"sync": sync_rec.statuses, "other": rec.statuses},
        "errors": rec.errors + sync_rec.errors,
        "error_count": rec.error_count + sync_rec.error_count,
    }


# --- main ----------------------------------------------------------------------------------------


async def run_http(
    server: Server,
    args: argparse.Namespace,
    deadline: Deadline,
    clients: list[str],
    out: dict[str, Any],
) -> None:
    limits = httpx.Limits(
        max_connections=max(args.clients, CONCURRENT_SENDERS) + 10,
        max_keepalive_connections=max(args.clients, CONCURRENT_SENDERS) + 10,
    )
    async with httpx.AsyncClient(
        base_url=server.base_url, limits=limits, trust_env=False, timeout=REQUEST_TIMEOUT
    ) as http:
        rec = Recorder()
        sem = asyncio.Semaphore(8)

        async def timed_login(name: str) -> tuple[str, float]:
            async with sem:
                t0 = time.perf_counter()
                tok = await login(http, rec, name)
                return tok, time.perf_counter() - t0

        t = time.perf_counter()
        logins = await asyncio.gather(*(timed_login(n) for n in ["sender", *clients]))
        out["setup"]["login"] = {
            "accounts": len(logins),
            "elapsed_s": round(time.perf_counter() - t, 3),
            "latency": latency_stats([x[1] for x in logins]),
            "errors": rec.errors,
        }
        sender_token = logins[0][0]
        client_tokens = [x[0] for x in logins[1:]]
        out["server"]["after_setup"] = server.sample()

        # Time budgets so that one slow scenario cannot starve the next.
        budget = max(10.0, deadline.left() * 0.3)
        out["send"] = await scenario_send(
            http, server, sender_token, args.messages, deadline, budget
        )
        budget = max(10.0, deadline.left() - 15.0)
        if args.shared_client:
            poll_http = [http] * len(client_tokens)
        else:  # one small pool per simulated client, as separate Matrix clients would have
            poll_http = [
                httpx.AsyncClient(
                    base_url=server.base_url,
                    trust_env=False,
                    timeout=REQUEST_TIMEOUT,
                    limits=httpx.Limits(max_connections=2, max_keepalive_connections=2),
                )
                for _ in client_tokens
            ]
        try:
            out["sync_latency"] = await scenario_sync(
                http,
                server,
                sender_token,
                client_tokens,
                args.sync_messages,
                deadline,
                budget,
                poll_http,
            )
            out["sync_latency"]["http_client"] = (
                "shared" if args.shared_client else "one AsyncClient per simulated client"
            )
        finally:
            if not args.shared_client:
                await asyncio.gather(*(c.aclose() for c in poll_http), return_exceptions=True)


def summary(out: dict[str, Any]) -> str:
    lines = []
    s = out.get("send", {})
    for name in ("sequential", "concurrent"):
        v = s.get(name)
        if v:
            lat = v["latency"]
            lines.append(
                f"send {name:10s}: {v['sent_ok']} ok / {v['failed']} failed, "
                f"{v['msgs_per_s']} msg/s, "
                f"p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms, p99 {lat['p99_ms']} ms, "
                f"server CPU {v['server']['cpu_s_used']} s, bench CPU {v['client_cpu_s']} s"
            )
    y = out.get("sync_latency")
    if y:
        lat = y["delivery_latency"]
        lines.append(
            f"sync-latency   : {y['clients']} clients, {y['messages_sent']} msgs, "
            f"{y['deliveries']}/{y['deliveries_expected']} deliveries, "
            f"{y['deliveries_per_s']} deliveries/s, "
            f"p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms, p99 {lat['p99_ms']} ms, "
            f"server CPU {y['server']['cpu_s_used']} s, bench CPU {y['client_cpu_s']} s"
        )
    srv = out.get("server", {}).get("final") or {}
    if srv:
        lines.append(
            f"server peak RSS: {srv.get('peak_rss_kib', 0) / 1024:.1f} MiB, "
            f"total CPU {srv.get('cpu_s')} s; tracebacks in log: "
            f"{out.get('server', {}).get('log_tracebacks')}"
        )
    stop = out.get("server", {}).get("stop") or {}
    if stop.get("killed"):
        lines.append(
            f"note: server ignored SIGTERM for {STOP_TIMEOUT:.0f} s and was killed "
            "(see README: abandoned long polls)"
        )
    if out.get("error"):
        lines.append(f"ERROR: {out['error']}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages in each send variant")
    parser.add_argument("--clients", type=int, default=50, help="long-polling clients")
    parser.add_argument("--sync-messages", type=int, default=50, help="messages in sync-latency")
    parser.add_argument("--deadline", type=float, default=300.0, help="overall bound in seconds")
    parser.add_argument(
        "--shared-client",
        action="store_true",
        help="sync-latency: all pollers share one httpx.AsyncClient (max_connections=M+10); "
        "httpcore 1.0.9's pool is O(connections x requests), so this measures the bench",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    for name in ("messages", "clients", "sync_messages"):
        if not 1 <= getattr(args, name) <= 100000:
            parser.error(f"--{name.replace('_', '-')} must be between 1 and 100000")
    args.clients = min(args.clients, 1000)
    deadline = Deadline(args.deadline)

    tmp = Path(tempfile.mkdtemp(prefix="bastion-bench-"))
    out: dict[str, Any] = {
        "params": {
            "messages": args.messages,
            "clients": args.clients,
            "sync_messages": args.sync_messages,
            "concurrent_senders": CONCURRENT_SENDERS,
            "deadline_s": args.deadline,
            "database": "sqlite",
            "host": HOST,
            "shared_client": args.shared_client,
        },
        "environment": {
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "httpx": httpx.__version__,
        },
        "setup": {},
        "server": {},
    }
    server: Server | None = None
    cpu0 = time.process_time()
    t_all = time.perf_counter()
    try:
        server = Server(tmp / "bastion")
        clients = [f"c{i:04d}" for i in range(args.clients)]
        t = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(server.create_user, ["sender", *clients]))
        out["setup"]["cli_user_create_s"] = round(time.perf_counter() - t, 3)
        if deadline.passed():
            raise BenchError("deadline passed while creating accounts")
        server.start()
        out["server"]["pid"] = server.pid
        out["server"]["at_start"] = server.sample()
        try:
            asyncio.run(
                asyncio.wait_for(
                    run_http(server, args, deadline, clients, out), max(1.0, deadline.left())
                )
            )
        except TimeoutError:
            out["error"] = f"overall deadline of {args.deadline}s reached; numbers are partial"
    except BenchError as exc:
        out["error"] = str(exc)
    except KeyboardInterrupt:
        out["error"] = "interrupted"
    finally:
        if server is not None:
            if server.process is not None:
                out["server"]["final"] = server.sample()
            out["server"]["stop"] = server.stop()
            log = server.log_text()
            out["server"]["log_tracebacks"] = log.count("Traceback")
            if "Traceback" in log:
                first = log.index("Traceback")
                out["server"]["first_traceback"] = log[max(0, first - 500) : first + 3000]
            out["server"]["log_error_lines"] = [
                ln for ln in log.splitlines() if " ERROR " in ln or ln.startswith("ERROR")
            ][:MAX_ERRORS_KEPT]
        out["client_process_cpu_s"] = round(time.process_time() - cpu0, 3)
        out["total_elapsed_s"] = round(time.perf_counter() - t_all, 3)
        if args.keep:
            out["kept_dir"] = str(tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out, indent=2))
    print(summary(out), file=sys.stderr)
    return 1 if out.get("error") else 0


if __name__ == "__main__":
    sys.exit(main())
