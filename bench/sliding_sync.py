"""Element X's session over Simplified Sliding Sync (MSC4186) at 1,000 rooms, next to /sync v2.

Run:  .venv/bin/python bench/sliding_sync.py [--rooms 1000] [--screens 50] [--growths 3]
                                             [--wakes 50] [--deadline 600]
                                             [--database-url postgresql://... | --postgres]

In-process (like presence_sync.py: `Runtime.open`, the real services and database, SQLite in a
temporary directory unless --database-url names a PostgreSQL server, or --postgres takes it from
BASTION_TEST_PG_DSN as scripts/with-postgres exports it; then a throwaway schema), raw HTTP over
httpx's ASGI transport. alice is in ROOMS rooms, each with one last message. The requests are
the ones matrix-rust-sdk sends (tests/clients/element_x.py); the /sync v2 side uses the lean
filter of presence_sync.py (timeline limit 1, lazy-loaded members), the closest v2 equivalent.

  first screen   SCREENS times: a new `room-list` connection (no `pos`), range 0..=19, `timeout=0`:
                 the request Element X makes when it opens. Next to it: a v2 initial sync, which
                 has no first screen and must carry every room (a few repetitions only).
  growth         GROWTHS times: a new connection, then 0..=19, 0..=99, ... 0..=ROOMS-1: the whole
                 room list as Element X loads it; the time for the whole sequence.
  woken          WAKES times: a long-poll parks (sliding sync `timeout=30000` on the fully loaded
                 connection; v2 `/sync?timeout=30000` from its last `next_batch`), a message
                 is sent into a random room of alice's, and the woken request answers. "CPU" is
                 the process CPU time (time.process_time) from the end of the send to the answer
                 (the work after the wake-up); "whole" adds the request's CPU until it parked
                 (arrival, token check, anything built before parking): everything the woken
                 request cost. Client and server share the process, so compare the two rows,
                 not the absolute figures.
  encryption     Element X keeps an `encryption` connection (no lists; to_device and e2ee)
                 parked beside the room list; every message in the user's rooms wakes it, and
                 with nothing for it, it waits again. WAKES messages are sent with it parked
                 and WAKES without; the row is the process CPU per message with it parked, and
                 "whole" the CPU per message it added (the difference).

It prints p50 / p99 / max ms, database queries and CPU ms per request, JSON to stdout and a table
to stderr. Every loop is bounded by its count and by --deadline; loopback only (no sockets: the
ASGI transport). No assertions on time.
"""

# A measurement script, not server code: one long linear scenario.
# ruff: noqa: S311

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from benchlib import latency_stats
from inprocess import add_database_options, bench_runtime, parse_with_database

from bastion.app import Runtime, create_app
from bastion.events.builder import EventDraft
from bastion.services.principal import Operator, Requester
from bastion.services.rooms.create import CreateRoomRequest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the requests Element X sends
from tests.clients.element_x import (
    ALL_ROOMS,
    FIRST_SCREEN,
    UNSTABLE_PATH,
    encryption_body,
    growing_ends,
    room_list_body,
)

PASSWORD = "correct horse battery staple"
LEAN_FILTER = json.dumps({"room": {"timeline": {"limit": 1}, "state": {"lazy_load_members": True}}})
LONG_POLL_MS = 30_000
PARK_WAIT_S = 5.0  # bound on waiting for a long-poll to park before sending
SETTLE_S = 0.005  # after each message of the encryption scenario: time for what it woke
SEED_BATCH = 250
V2_INITIAL_REPEATS = 5


class Bench:
    """The runtime, an in-process HTTP client, alice's token and her rooms."""

    def __init__(self, runtime: Runtime) -> None:
        transport = httpx.ASGITransport(app=create_app(runtime))
        self.http = httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120)
        self.runtime = runtime
        self.alice = ""
        self.token = ""
        self.rooms: list[str] = []

    async def seed(self, rooms: int) -> None:
        services = self.runtime.services
        self.alice = await services.accounts.create_user(
            Operator("bench"), "alice", PASSWORD, is_admin=False
        )
        requester = Requester(self.alice, "BENCH", is_admin=False)
        for i in range(rooms):
            request = CreateRoomRequest(preset="private_chat", name=f"Ward {i:04d}")
            self.rooms.append(await services.rooms.create_room(requester, request))
        order = random.Random(1).sample(self.rooms, len(self.rooms))
        pipeline = services.messages._pipeline  # the pipeline every send goes through
        for start in range(0, len(order), SEED_BATCH):
            content = {"msgtype": "m.text", "body": "handover notes"}
            draft = EventDraft("m.room.message", self.alice, content)
            await pipeline.append_batch([(r, draft) for r in order[start : start + SEED_BATCH]])
        login = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "alice"},
            "password": PASSWORD,
        }
        resp = await self.http.post("/_matrix/client/v3/login", json=login)
        self.token = resp.json()["access_token"]

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def sliding(self, body: dict[str, Any], pos: str | None, timeout_ms: int = 0) -> Any:
        params = {"timeout": str(timeout_ms)} | ({"pos": pos} if pos else {})
        resp = await self.http.post(
            UNSTABLE_PATH, params=params, json=body, headers=self._headers()
        )
        if resp.status_code != 200:
            raise RuntimeError(f"sliding sync: {resp.status_code} {resp.text[:300]}")
        return resp.json()

    async def sync_v2(self, since: str | None, timeout_ms: int = 0) -> Any:
        params = {"timeout": str(timeout_ms), "filter": LEAN_FILTER} | (
            {"since": since} if since else {}
        )
        resp = await self.http.get(
            "/_matrix/client/v3/sync", params=params, headers=self._headers()
        )
        if resp.status_code != 200:
            raise RuntimeError(f"sync: {resp.status_code} {resp.text[:300]}")
        return resp.json()

    async def full_growth(self) -> str:
        """A new room-list connection loaded to the end as Element X does; its last pos."""
        body = await self.sliding(room_list_body(FIRST_SCREEN[1]), None)
        count = body["lists"][ALL_ROOMS]["count"]
        pos = body["pos"]
        for end in growing_ends(count):
            pos = (await self.sliding(room_list_body(end), pos))["pos"]
        return str(pos)

    async def timed(
        self, calls: list[Callable[[], Awaitable[Any]]], deadline: float
    ) -> dict[str, Any]:
        """Run the calls one after another: latency, queries and process CPU per call."""
        samples: list[float] = []
        queries, cpu = self.runtime.db.query_count, time.process_time()
        for call in calls:
            if time.monotonic() > deadline:
                break
            started = time.perf_counter()
            await call()
            samples.append(time.perf_counter() - started)
        return summary(samples, self.runtime.db.query_count - queries, time.process_time() - cpu)

    async def woken(
        self, poll: Callable[[], Awaitable[Any]], count: int, deadline: float
    ) -> dict[str, Any]:
        """COUNT times: park `poll`, send a message, time the woken request after the send."""
        rng = random.Random(2)
        sender = Requester(self.alice, "SENDER", is_admin=False)
        samples: list[float] = []
        queries = cpu = whole = 0.0
        for i in range(count):
            if time.monotonic() > deadline:
                break
            started = time.process_time()
            task = asyncio.create_task(poll())
            await self._parked(task)
            parking = time.process_time() - started
            await self._send(sender, rng, f"update {i}")
            q0, c0, t0 = self.runtime.db.query_count, time.process_time(), time.perf_counter()
            await task
            samples.append(time.perf_counter() - t0)
            cpu += time.process_time() - c0
            whole += parking + time.process_time() - c0
            queries += self.runtime.db.query_count - q0
        stats = summary(samples, int(queries), cpu)
        if samples:
            stats["cpu_ms_whole_request"] = round(whole * 1000 / len(samples), 2)
        return stats

    async def encryption_cost(self, count: int, deadline: float) -> dict[str, Any]:
        """Process CPU per message sent with a parked `encryption` connection, and what it
        added (module docstring)."""
        first = await self.sliding(encryption_body(None), None)
        since = first["extensions"]["to_device"]["next_batch"]
        body = encryption_body(since)
        alone = await self._sends(count, deadline)
        task = asyncio.create_task(self.sliding(body, first["pos"], LONG_POLL_MS))
        await self._parked(task)
        parked = await self._sends(count, deadline)
        task.cancel()
        if parked["count"] == 0:
            return {"count": 0}
        added = parked["cpu_ms_per_request"] - alone["cpu_ms_per_request"]
        return parked | {"cpu_ms_whole_request": round(added, 2)}

    async def _sends(self, count: int, deadline: float) -> dict[str, Any]:
        """COUNT messages into random rooms of alice's, each followed by a short pause (time
        for what it woke to run): process CPU per message, pause included."""
        rng = random.Random(3)
        sender = Requester(self.alice, "SENDER", is_admin=False)
        samples: list[float] = []
        cpu = time.process_time()
        queries = self.runtime.db.query_count
        for i in range(count):
            if time.monotonic() > deadline:
                break
            started = time.perf_counter()
            await self._send(sender, rng, f"note {i}")
            samples.append(time.perf_counter() - started)
            await asyncio.sleep(SETTLE_S)
        return summary(samples, self.runtime.db.query_count - queries, time.process_time() - cpu)

    async def _send(self, sender: Requester, rng: random.Random, body: str) -> None:
        """A message from `sender` into a random room of alice's."""
        await self.runtime.services.messages.send(
            sender, rng.choice(self.rooms), "m.room.message",
            {"msgtype": "m.text", "body": body}, txn_id=uuid.uuid4().hex,
        )  # fmt: skip

    async def _parked(self, task: asyncio.Task[Any]) -> None:
        """Until the long-poll waits on the wake-ups (bounded), or has already answered."""
        limit = time.monotonic() + PARK_WAIT_S
        while time.monotonic() < limit and not task.done():
            if self.runtime.wakeups.waiting_users() >= 1:
                return
            await asyncio.sleep(0.001)
        raise RuntimeError("the long-poll did not park (it answered, or never waited)")


def summary(samples: list[float], queries: int, cpu_s: float) -> dict[str, Any]:
    if not samples:
        return {"count": 0}
    stats = latency_stats(samples)
    stats["queries_per_request"] = round(queries / len(samples), 1)
    stats["cpu_ms_per_request"] = round(cpu_s * 1000 / len(samples), 2)
    return stats


async def measure(bench: Bench, args: argparse.Namespace, deadline: float) -> dict[str, Any]:
    first = room_list_body(FIRST_SCREEN[1])
    result: dict[str, Any] = {}
    await bench.sliding(first, None)  # warm-up, untimed
    result["ss_first_screen"] = await bench.timed(
        [lambda: bench.sliding(first, None) for _ in range(args.screens)], deadline
    )
    result["ss_full_growth"] = await bench.timed(
        [bench.full_growth for _ in range(args.growths)], deadline
    )
    result["v2_initial_sync"] = await bench.timed(
        [lambda: bench.sync_v2(None) for _ in range(V2_INITIAL_REPEATS)], deadline
    )
    pos = await bench.full_growth()

    async def ss_poll() -> None:
        nonlocal pos
        body = await bench.sliding(room_list_body(len(bench.rooms) - 1), pos, LONG_POLL_MS)
        if not body.get("rooms"):
            raise RuntimeError("a woken sliding sync without the room")
        pos = body["pos"]

    result["ss_woken"] = await bench.woken(ss_poll, args.wakes, deadline)
    since = (await bench.sync_v2(None))["next_batch"]

    async def v2_poll() -> None:
        nonlocal since
        body = await bench.sync_v2(since, LONG_POLL_MS)
        if not body.get("rooms", {}).get("join"):
            raise RuntimeError("a woken /sync without the room")
        since = body["next_batch"]

    result["v2_woken"] = await bench.woken(v2_poll, args.wakes, deadline)
    result["ss_encryption"] = await bench.encryption_cost(args.wakes, deadline)
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    deadline = time.monotonic() + args.deadline
    result: dict[str, Any] = {"rooms": args.rooms}
    async with bench_runtime(args.database_url, "bastion-sliding-sync-bench-") as runtime:
        bench = Bench(runtime)
        try:
            started = time.perf_counter()
            await bench.seed(args.rooms)
            result["setup_s"] = round(time.perf_counter() - started, 1)
            result["database"] = runtime.db.dialect
            print(f"seeded {args.rooms} rooms in {result['setup_s']} s", file=sys.stderr)
            result |= await measure(bench, args, deadline)
        finally:
            await bench.http.aclose()
    return result


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{result.get('database')}, {result['rooms']} rooms (setup {result.get('setup_s')} s)",
        f"{'request':<40}{'n':>5}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'queries':>9}{'CPU ms':>9}{'whole':>9}",
    ]
    rows = [
        ("sliding sync: first screen (0..=19)", "ss_first_screen"),
        ("/sync v2: initial (every room)", "v2_initial_sync"),
        (f"sliding sync: growth to {result['rooms']} (whole)", "ss_full_growth"),
        ("sliding sync: woken by a send", "ss_woken"),
        ("/sync v2: woken by a send", "v2_woken"),
        ("a send, encryption conn. parked", "ss_encryption"),
    ]
    for name, key in rows:
        s = result.get(key) or {}
        if not s.get("count"):
            lines.append(f"{name:<40}{'skipped':>5}")
            continue
        lines.append(
            f"{name:<40}{s['count']:>5}{s['p50_ms']:>9}{s['p99_ms']:>9}{s['max_ms']:>9}"
            f"{s['queries_per_request']:>9}{s['cpu_ms_per_request']:>9}"
            f"{s.get('cpu_ms_whole_request', ''):>9}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=1000)
    parser.add_argument("--screens", type=int, default=50, help="first-screen repetitions")
    parser.add_argument("--growths", type=int, default=3, help="full growth repetitions")
    parser.add_argument("--wakes", type=int, default=50, help="woken requests of each kind")
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds for the run")
    add_database_options(parser)
    result = asyncio.run(run(parse_with_database(parser)))
    print(json.dumps(result, indent=2))
    print(table(result), file=sys.stderr)


if __name__ == "__main__":
    main()
