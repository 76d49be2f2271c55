"""What presence costs /sync: incremental sync with presence on and off, and a wave of changes.

Run:  .venv/bin/python bench/presence_sync.py [--users 1000] [--syncs 1000] [--wave 200]
                                              [--deadline 900] [--database-url postgresql://...]

It opens a fresh Bastion in-process (`Runtime.open`: the real services and database; SQLite in a
temporary directory unless --database-url names a PostgreSQL server, then a throwaway schema),
with a FakeClock so timeouts can be crossed without waiting, and builds:

  users   USERS accounts (1,000), each logged in once over HTTP (in-process ASGI).
  rooms   one "all staff" room with everyone, 4 department rooms of 200 (users split among
          them), and USERS / 5 small rooms of 5 (care teams, drawn at random): presence fans out
          to ~1,000 people from everyone, as in a hospital where the whole staff shares a room.

Every user then makes an initial sync (set_presence online by default), so all are online, and
the timed phases run, all through the HTTP API with a lean filter (timeline limit 1, lazy-loaded
members) and `timeout=0`:

  quiet      SYNCS incremental syncs by random users with nothing new since their token.
  message    one message in the all-staff room, then SYNCS incremental syncs that each carry it.
  wave       WAVE users PUT their status (unavailable + a status message): time per PUT (a
             stream position, one transaction, waking ~1,000 people each); then SYNCS
             incremental syncs that receive the wave (up to WAVE presence events each).
  expiry     the clock moves 31 s without syncs; one sweep turns everyone offline: its time and
             query count (one transaction for all, one query to find whom to wake per 500).

The database is then reopened with `presence.enabled = false` (same accounts, rooms and tokens)
and the quiet and message phases run again, then reopened with presence on once more and run a
third time ("on, 2": like "off", on a freshly opened database, so the two compare fairly). For
each phase it prints p50 / p95 / max ms per request, database queries per request and process
CPU ms per request (client and server share the process: compare the columns, not the absolute
CPU). One JSON object goes to stdout, a table to stderr. Everything is bounded by counts and by
--deadline (phases that do not fit are cut short or skipped). No assertions on time.
"""

# A measurement script, not server code: one long linear scenario.
# ruff: noqa: S311

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from benchlib import drop_schema
from inprocess import bench_config

from bastion.app import Runtime, create_app
from bastion.clock import FakeClock
from bastion.server_key import write_new_key
from bastion.services.principal import Operator, Requester
from bastion.services.rooms.create import CreateRoomRequest

PASSWORD = "correct horse battery staple"
DEPARTMENTS, SMALL_ROOM_SIZE = 4, 5
LEAN_FILTER = json.dumps({"room": {"timeline": {"limit": 1}, "state": {"lazy_load_members": True}}})


@dataclass
class World:
    """Accounts, rooms and each user's access token and latest sync token."""

    users: list[str] = field(default_factory=list)
    staff_room: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    since: dict[str, str] = field(default_factory=dict)


def config_for(args: argparse.Namespace, workdir: Path, schema: str | None, *, presence: bool):
    return bench_config(workdir, database_url=args.database_url, schema=schema, presence=presence)


async def create_world(runtime: Runtime, rng: random.Random, users: int) -> World:
    services, world = runtime.services, World()
    for i in range(users):
        user_id = await services.accounts.create_user(
            Operator("bench"), f"u{i:04d}", PASSWORD, is_admin=False
        )
        world.users.append(user_id)

    def as_user(user_id: str) -> Requester:
        return Requester(user_id, "BENCH", is_admin=False)

    async def room_of(members: list[str]) -> str:
        request = CreateRoomRequest(preset="public_chat")
        room_id = await services.rooms.create_room(as_user(members[0]), request)
        for member in members[1:]:
            await services.membership.join(as_user(member), room_id)
        return room_id

    world.staff_room = await room_of(world.users)
    size = len(world.users) // DEPARTMENTS
    for d in range(DEPARTMENTS):
        await room_of(world.users[d * size : (d + 1) * size])
    for _ in range(len(world.users) // SMALL_ROOM_SIZE):
        await room_of(rng.sample(world.users, SMALL_ROOM_SIZE))
    return world


def stats(samples_s: list[float], queries: int, cpu_s: float) -> dict[str, Any]:
    if not samples_s:
        return {"n": 0}
    ms = sorted(s * 1000 for s in samples_s)
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 2),
        "max_ms": round(ms[-1], 2),
        "queries_per_request": round(queries / len(ms), 2),
        "cpu_ms_per_request": round(cpu_s * 1000 / len(ms), 2),
    }


class Client:
    """Raw HTTP against the in-process app; one httpx client for every user."""

    def __init__(self, runtime: Runtime, world: World) -> None:
        transport = httpx.ASGITransport(app=create_app(runtime))
        self.http = httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60)
        self.runtime = runtime
        self.world = world

    async def login_all(self) -> None:
        for user in self.world.users:
            body = {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": user.split(":")[0][1:]},
                "password": PASSWORD,
            }
            resp = await self.http.post("/_matrix/client/v3/login", json=body)
            self.world.tokens[user] = resp.json()["access_token"]

    def _headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.world.tokens[user]}"}

    async def sync(self, user: str) -> dict[str, Any]:
        params = {"timeout": "0", "filter": LEAN_FILTER}
        if user in self.world.since:
            params["since"] = self.world.since[user]
        resp = await self.http.get(
            "/_matrix/client/v3/sync", params=params, headers=self._headers(user)
        )
        if resp.status_code != 200:
            raise RuntimeError(f"sync failed: {resp.status_code} {resp.text}")
        body: dict[str, Any] = resp.json()
        self.world.since[user] = body["next_batch"]
        return body

    async def put_status(self, user: str, body: dict[str, Any]) -> None:
        resp = await self.http.put(
            f"/_matrix/client/v3/presence/{user}/status", json=body, headers=self._headers(user)
        )
        if resp.status_code != 200:
            raise RuntimeError(f"PUT presence failed: {resp.status_code} {resp.text}")

    async def send(self, user: str, room_id: str, text: str) -> None:
        txn = uuid.uuid4().hex
        resp = await self.http.put(
            f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/{txn}",
            json={"msgtype": "m.text", "body": text},
            headers=self._headers(user),
        )
        if resp.status_code != 200:
            raise RuntimeError(f"send failed: {resp.status_code} {resp.text}")

    async def timed(
        self, calls: list[Callable[[], Awaitable[Any]]], deadline: float
    ) -> tuple[dict[str, Any], list[Any]]:
        """Run the calls one after another, timing each; stops at the deadline."""
        samples, results = [], []
        queries, cpu = self.runtime.db.query_count, time.process_time()
        for call in calls:
            if time.monotonic() > deadline:
                break
            started = time.perf_counter()
            results.append(await call())
            samples.append(time.perf_counter() - started)
        used = self.runtime.db.query_count - queries
        return stats(samples, used, time.process_time() - cpu), results


def presence_events(body: dict[str, Any]) -> int:
    return len(body["presence"]["events"])


async def sync_phases(
    client: Client, rng: random.Random, count: int, deadline: float
) -> dict[str, Any]:
    """`quiet` and `message`: incremental syncs with nothing new, then with one message."""
    users = client.world.users
    picks = [rng.choice(users) for _ in range(count)]
    # Untimed, twice: the first pass may bring users online (on a reopened database everyone
    # starts offline), the second brings every token past all of that.
    for _ in range(2):
        for user in set(picks):
            await client.sync(user)
    quiet, _ = await client.timed([lambda u=u: client.sync(u) for u in picks], deadline)
    await client.send(users[0], client.world.staff_room, "handover at 19:00")
    fresh = list(dict.fromkeys(picks))  # each user once: each sync carries the message
    message, bodies = await client.timed([lambda u=u: client.sync(u) for u in fresh], deadline)
    message["presence_events_per_sync"] = round(
        statistics.mean(presence_events(b) for b in bodies), 2
    ) if bodies else None  # fmt: skip
    return {"quiet": quiet, "message": message}


async def wave_phases(
    client: Client, clock: FakeClock, rng: random.Random, args: argparse.Namespace, deadline: float
) -> dict[str, Any]:
    """`wave` (PUT status by WAVE users, then syncs receiving it) and `expiry` (everyone)."""
    users = client.world.users
    picks = [rng.choice(users) for _ in range(args.syncs)]
    for user in set(picks):
        await client.sync(user)
    changers = rng.sample(users, min(args.wave, len(users)))
    body = {"presence": "unavailable", "status_msg": "In theatre until 16:00"}
    put, _ = await client.timed(
        [lambda u=u: client.put_status(u, body) for u in changers], deadline
    )
    fresh = list(dict.fromkeys(picks))
    receive, bodies = await client.timed([lambda u=u: client.sync(u) for u in fresh], deadline)
    receive["presence_events_per_sync"] = round(
        statistics.mean(presence_events(b) for b in bodies), 2
    ) if bodies else None  # fmt: skip
    presence = client.runtime.services.presence
    clock.advance(31)
    queries, started = client.runtime.db.query_count, time.perf_counter()
    changed = await presence.expire(clock.now_ms())
    expiry = {
        "users_changed": changed,
        "ms": round((time.perf_counter() - started) * 1000, 1),
        "queries": client.runtime.db.query_count - queries,
    }
    queries, started = client.runtime.db.query_count, time.perf_counter()
    await presence.expire(clock.now_ms())
    expiry["idle_sweep_ms"] = round((time.perf_counter() - started) * 1000, 2)
    expiry["idle_sweep_queries"] = client.runtime.db.query_count - queries
    return {"wave_put": put, "wave_receive": receive, "expiry": expiry}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    deadline = time.monotonic() + args.deadline
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="bastion-presence-bench-"))
    write_new_key(workdir / "signing.key")
    schema = f"bench_{uuid.uuid4().hex[:12]}" if args.database_url else None
    clock = FakeClock(start_ms=int(time.time() * 1000))
    result: dict[str, Any] = {"users": args.users}
    try:
        runtime = await Runtime.open(config_for(args, workdir, schema, presence=True), clock)
        client = Client(runtime, World())
        try:
            started = time.perf_counter()
            client.world = await create_world(runtime, rng, args.users)
            await client.login_all()
            for user in client.world.users:  # everyone online
                await client.sync(user)
            result["setup_s"] = round(time.perf_counter() - started, 1)
            result["database"] = runtime.db.dialect
            print(f"set up in {result['setup_s']} s", file=sys.stderr)
            result["presence_on"] = await sync_phases(client, rng, args.syncs, deadline)
            result["presence_on"] |= await wave_phases(client, clock, rng, args, deadline)
        finally:
            await client.http.aclose()
            await runtime.close()
        # Off, then on again: both on a freshly reopened database, so neither has warmer caches.
        for key, enabled in (("presence_off", False), ("presence_on_reopened", True)):
            config = config_for(args, workdir, schema, presence=enabled)
            runtime = await Runtime.open(config, clock)
            again = Client(runtime, client.world)
            try:
                result[key] = await sync_phases(again, rng, args.syncs, deadline)
            finally:
                await again.http.aclose()
                await runtime.close()
    finally:
        if schema is not None:
            await drop_schema(args.database_url, schema)
        shutil.rmtree(workdir)
    return result


def table(result: dict[str, Any]) -> str:
    on, off = result["presence_on"], result.get("presence_off", {})
    reopened = result.get("presence_on_reopened", {})
    lines = [
        f"{result.get('database')}, {result['users']} users (setup {result.get('setup_s')} s)",
        f"{'phase':<28}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'queries':>9}{'CPU ms':>8}",
    ]
    rows = [
        ("sync, nothing new (on)", on.get("quiet")),
        ("sync, nothing new (off)", off.get("quiet")),
        ("sync, nothing new (on, 2)", reopened.get("quiet")),
        ("sync, one message (on)", on.get("message")),
        ("sync, one message (off)", off.get("message")),
        ("sync, one message (on, 2)", reopened.get("message")),
        ("PUT status (wave)", on.get("wave_put")),
        ("sync receiving the wave", on.get("wave_receive")),
    ]
    for name, s in rows:
        if not s or not s.get("n"):
            lines.append(f"{name:<28}{'skipped':>6}")
            continue
        lines.append(
            f"{name:<28}{s['n']:>6}{s['p50_ms']:>9}{s['p95_ms']:>9}{s['max_ms']:>9}"
            f"{s['queries_per_request']:>9}{s['cpu_ms_per_request']:>8}"
        )
    wave = on.get("wave_receive", {}).get("presence_events_per_sync")
    expiry = on.get("expiry", {})
    lines.append(f"presence events per sync receiving the wave: {wave}")
    lines.append(
        f"expiry sweep: {expiry.get('users_changed')} users offline in {expiry.get('ms')} ms,"
        f" {expiry.get('queries')} queries; a sweep with nothing due: "
        f"{expiry.get('idle_sweep_ms')} ms, {expiry.get('idle_sweep_queries')} queries"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--syncs", type=int, default=1000, help="timed syncs per phase")
    parser.add_argument("--wave", type=int, default=200, help="users changing status at once")
    parser.add_argument("--deadline", type=float, default=900.0, help="seconds for the run")
    parser.add_argument("--database-url", help="postgresql://...; default: SQLite in a temp dir")
    parser.add_argument("--seed", type=int, default=1)
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps(result, indent=2))
    print(table(result), file=sys.stderr)


if __name__ == "__main__":
    main()
