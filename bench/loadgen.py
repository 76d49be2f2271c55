"""Load generator for any Matrix homeserver, by base URL. Prints one JSON object.

    .venv/bin/python bench/loadgen.py --base-url http://127.0.0.1:8008 [--pid PID ...]
        [--db-parent-pid PID] [--scenarios send,history,initial-sync,fanout] [--prefix P] ...

It needs open registration with `m.login.dummy` (it registers its own accounts over HTTP, or logs
in if they exist) and rate limits high enough not to be what is measured. Scenarios, each bounded
in count and in time (see --help and bench/README.md):

  send          S senders send N messages in total into one room, each one after another.
  history       H senders fill a room with E messages; then one reader back-paginates all of it
                with /messages (dir=b, limit L).
  initial-sync  a user in R rooms (each R of --initial-sync-rooms) does an initial /sync with no
                filter, on a fresh device each time.
  fanout        for each M of --fanout-members: M members long-poll /sync in one room while one
                sender sends K messages one at a time, each waited for until every member saw it.

With --pid, the server's CPU seconds and peak RSS (from /proc) are reported for each phase, and
with --db-parent-pid the CPU of a PostgreSQL postmaster and its backends as well. The load
generator's own CPU seconds are reported too: it shares the machine with the server.
"""

# A measurement script: long linear scenarios, many knobs.
# ruff: noqa: C901, PLR0915

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from typing import Any

import aiohttp
from benchlib import ProcWatch, Recorder, latency_stats, merge_reports, rate
from loadclient import (
    POLL_FILTER,
    POLLERS_PER_SESSION,
    SYNC_HTTP_TIMEOUT,
    SYNC_TIMEOUT_MS,
    WARMUP_MESSAGES,
    BenchBase,
    BenchError,
    Client,
    bounded_gather,
    q,
)


class Bench(BenchBase):
    """The scenarios, each bounded in count and time."""

    async def scenario_send(self) -> dict[str, Any]:
        a = self.args
        setup: dict[str, Any] = {}
        tokens = await self.accounts([f"s{i:02d}" for i in range(a.send_senders)], setup, "sender")
        room_id = await self.create_room(tokens[0], "bench send")
        setup["join_s"] = await self.join_all(room_id, tokens[1:], self.deadline.within(120))
        rec = Recorder()
        for i in range(WARMUP_MESSAGES):
            await self.send(rec, room_id, tokens[i % len(tokens)], f"w{i}", f"warm-up {i}")
        out = await self.send_many(
            room_id, tokens, a.send_messages, "send", self.deadline.within(a.scenario_budget)
        )
        self.send_room = (room_id, WARMUP_MESSAGES + out["sent_ok"], len(tokens))
        out["room_id"] = room_id
        out["warmup_messages"] = WARMUP_MESSAGES
        out["setup"] = setup
        return out

    async def scenario_history(self) -> dict[str, Any]:
        a = self.args
        setup: dict[str, Any] = {}
        names = [f"s{i:02d}" for i in range(a.history_senders)]
        tokens = await self.accounts(names, setup, "sender")
        already = 0
        joined = 1
        if self.send_room is not None and a.history_reuse_send_room:
            # The send scenario's messages count: only the rest is sent here.
            room_id, already, joined = self.send_room
            setup["reused_send_room_messages"] = already
        else:
            room_id = await self.create_room(tokens[0], "bench history")
        setup["join_s"] = await self.join_all(room_id, tokens[joined:], self.deadline.within(120))
        fill = await self.send_many(
            room_id,
            tokens,
            max(1, a.history_events - already),
            "hist",
            self.deadline.within(a.history_fill_budget),
        )
        rec = Recorder()
        reader = tokens[0]
        path = f"/_matrix/client/v3/rooms/{q(room_id)}/messages"
        page_lat: list[float] = []
        messages = events = total_bytes = 0
        from_token: str | None = None
        max_pages = a.history_events // a.history_page + 50
        stop_at = self.deadline.within(a.scenario_budget)
        complete = False
        begun = self.begin()
        for _ in range(max_pages):
            if time.monotonic() >= stop_at:
                break
            params = {"dir": "b", "limit": str(a.history_page)}
            if from_token is not None:
                params["from"] = from_token
            t0 = time.perf_counter()
            status, data, size = await self.http.call(rec, "GET", path, token=reader, params=params)
            page_lat.append(time.perf_counter() - t0)
            if status != 200 or not isinstance(data, dict):
                break
            total_bytes += size
            chunk = data.get("chunk", [])
            events += len(chunk)
            messages += sum(1 for e in chunk if e.get("type") == "m.room.message")
            end = data.get("end")
            if not chunk or not end or end == from_token:
                complete = True
                break
            from_token = str(end)
        res = self.end(begun)
        out: dict[str, Any] = {
            "room_id": room_id,
            "fill": fill,
            "page_limit": a.history_page,
            "pages": len(page_lat),
            "events_returned": events,
            "messages_returned": messages,
            "messages_expected": fill["sent_ok"] + already,
            "reached_room_start": complete,
            "bytes": total_bytes,
            "events_per_s": rate(events, res["wall_s"]),
            "page_latency": latency_stats(page_lat),
            "resources": res,
            "setup": setup,
        }
        if "server_cpu_s" in res and events:
            out["server_cpu_ms_per_event"] = round(1000 * res["server_cpu_s"] / events, 4)
        out.update(rec.report())
        return out

    async def scenario_initial_sync(self) -> dict[str, Any]:
        a = self.args
        sizes = sorted(a.initial_sync_rooms)
        biggest = sizes[-1]
        setup: dict[str, Any] = {}
        names = [f"i{r}" for r in sizes]
        tokens = dict(zip(sizes, await self.accounts(names, setup, "initial_sync"), strict=True))
        # The user of the biggest R creates every room; the others join the first R of them.
        stop_at = self.deadline.within(a.setup_budget)
        t0 = time.perf_counter()
        owner = tokens[biggest]
        rooms = await bounded_gather(
            a.setup_concurrency,
            [lambda i=i: self.create_room(owner, f"bench room {i}") for i in range(biggest)],
            stop_at,
        )
        setup["create_rooms"] = {"count": biggest, "s": round(time.perf_counter() - t0, 3)}
        rec = Recorder()
        if a.initial_sync_messages:
            t0 = time.perf_counter()
            await bounded_gather(
                a.setup_concurrency,
                [
                    lambda r=r, i=i: self.send(rec, r, owner, f"is{i}", f"hello {i}")
                    for i, r in enumerate(rooms)
                ],
                stop_at,
            )
            setup["messages"] = {"count": len(rooms), "s": round(time.perf_counter() - t0, 3)}
        for r in sizes[:-1]:
            path_of = [f"/_matrix/client/v3/join/{q(room)}" for room in rooms[:r]]
            t0 = time.perf_counter()
            tok = tokens[r]
            await bounded_gather(
                a.setup_concurrency,
                [
                    lambda p=p, tok=tok: self.http.must(
                        self.setup_rec, "POST", p, token=tok, body={}
                    )
                    for p in path_of
                ],
                stop_at,
            )
            setup[f"join_{r}"] = {"count": r, "s": round(time.perf_counter() - t0, 3)}
        out: dict[str, Any] = {"setup": setup, "repetitions": a.initial_sync_reps}
        self.partial["initial-sync"] = out
        for r in sizes:
            runs = []
            begun = self.begin()
            for _ in range(a.initial_sync_reps):
                if self.deadline.left() < 5:
                    break
                # A fresh device each time, so no per-device sync cache answers.
                token = await self.login(self.localpart(f"i{r}"))
                t0 = time.perf_counter()
                status, data, size = await self.http.call(
                    rec,
                    "GET",
                    "/_matrix/client/v3/sync",
                    token=token,
                    params={"timeout": "0"},
                    timeout=600.0,
                )
                took = time.perf_counter() - t0
                joined = (
                    len(data.get("rooms", {}).get("join", {})) if isinstance(data, dict) else None
                )
                runs.append({"status": status, "s": round(took, 4), "bytes": size, "rooms": joined})
            res = self.end(begun)
            ok = [x for x in runs if x["status"] == 200]
            times = [x["s"] for x in ok]
            out[str(r)] = {
                "rooms": r,
                "runs": runs,
                "first_s": ok[0]["s"] if ok else None,
                "median_s": round(statistics.median(times), 4) if times else None,
                "bytes": ok[0]["bytes"] if ok else None,
                "rooms_in_response": ok[0]["rooms"] if ok else None,
                "resources": res,
            }
        out.update(merge_reports(rec))
        return out

    async def scenario_fanout(self) -> dict[str, Any]:
        a = self.args
        sizes = sorted(a.fanout_members)
        setup: dict[str, Any] = {}
        sender = (await self.accounts(["s00"], setup, "sender"))[0]
        members = await self.accounts([f"m{i:04d}" for i in range(sizes[-1])], setup, "member")
        room_id = await self.create_room(sender, "bench fanout")
        since: dict[int, str] = {}
        joined = 0
        out: dict[str, Any] = {"room_id": room_id, "setup": setup}
        self.partial["fanout"] = out
        sessions: list[Client] = []
        try:
            for m in sizes:
                if self.deadline.left() < 20:
                    out[str(m)] = {"skipped": "overall deadline"}
                    continue
                stage_setup: dict[str, Any] = {}
                stage_setup["join_s"] = await self.join_all(
                    room_id, members[joined:m], self.deadline.within(a.setup_budget)
                )
                joined = m
                while len(sessions) * POLLERS_PER_SESSION < m:
                    sessions.append(Client(a.base_url, connections=POLLERS_PER_SESSION + 2))
                out[str(m)] = await self.fanout_stage(
                    room_id, sender, members[:m], since, sessions, stage_setup
                )
        finally:
            await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
        return out

    async def fanout_stage(
        self,
        room_id: str,
        sender: str,
        tokens: list[str],
        since: dict[int, str],
        sessions: list[Client],
        setup: dict[str, Any],
    ) -> dict[str, Any]:
        a = self.args
        m = len(tokens)
        k = a.fanout_messages[min(a.fanout_members.index(m), len(a.fanout_messages) - 1)]
        sync_rec = Recorder()
        rec = Recorder()
        filt = POLL_FILTER

        def session_of(i: int) -> Client:
            return sessions[i // POLLERS_PER_SESSION]

        async def initial(i: int) -> None:
            data = await session_of(i).must(
                self.setup_rec,
                "GET",
                "/_matrix/client/v3/sync",
                token=tokens[i],
                params={"filter": filt, "timeout": "0"},
            )
            since[i] = str(data["next_batch"])

        new = [i for i in range(m) if i not in since]
        t0 = time.perf_counter()
        await bounded_gather(16, [lambda i=i: initial(i) for i in new], self.deadline.within(120))
        setup["initial_syncs"] = {"count": len(new), "s": round(time.perf_counter() - t0, 3)}

        seen: dict[str, dict[int, float]] = {}
        all_seen: dict[str, asyncio.Event] = {}
        stop = asyncio.Event()
        ready = asyncio.Event()
        ready_count = 0
        polls = [0] * m

        def record(client: int, event_id: str, when: float) -> None:
            clients = seen.setdefault(event_id, {})
            if client not in clients:
                clients[client] = when
                if len(clients) >= m:
                    all_seen.setdefault(event_id, asyncio.Event()).set()

        async def poller(i: int) -> None:
            nonlocal ready_count
            first = True  # a catch-up sync (timeout=0) before the long polls
            http = session_of(i)
            while not stop.is_set():
                params = {
                    "filter": filt,
                    "timeout": "0" if first else str(SYNC_TIMEOUT_MS),
                    "since": since[i],
                }
                status, data, _ = await http.call(
                    sync_rec,
                    "GET",
                    "/_matrix/client/v3/sync",
                    token=tokens[i],
                    params=params,
                    timeout=SYNC_HTTP_TIMEOUT,
                )
                now = time.perf_counter()
                polls[i] += 1
                if status != 200 or not isinstance(data, dict):
                    await asyncio.sleep(0.5)
                    continue
                since[i] = str(data.get("next_batch", since[i]))
                room = data.get("rooms", {}).get("join", {}).get(room_id)
                if room:
                    for ev in room.get("timeline", {}).get("events", []):
                        if "event_id" in ev:
                            record(i, ev["event_id"], now)
                if first:
                    first = False
                    ready_count += 1
                    if ready_count >= m:
                        ready.set()

        pollers = [asyncio.create_task(poller(i)) for i in range(m)]
        try:
            await asyncio.wait_for(ready.wait(), 120)
        except TimeoutError:
            setup["not_ready"] = m - ready_count
        await asyncio.sleep(1.0)  # let every long poll reach the server

        stop_at = self.deadline.within(a.scenario_budget)
        sends: list[tuple[str, float]] = []
        send_lat: list[float] = []
        send_failed = 0
        incomplete = 0
        incomplete_examples: list[dict[str, Any]] = []
        begun = self.begin()
        for i in range(k):
            if time.monotonic() >= stop_at:
                break
            t0 = time.perf_counter()
            event_id, took = await self.send(rec, room_id, sender, f"f{m}.{i}", f"fanout {m} {i}")
            send_lat.append(took)
            if event_id is None:
                send_failed += 1
                continue
            sends.append((event_id, t0))
            ev = all_seen.setdefault(event_id, asyncio.Event())
            wait = min(a.per_message_deadline, max(0.0, stop_at - time.monotonic()))
            try:
                await asyncio.wait_for(ev.wait(), wait)
            except TimeoutError:
                incomplete += 1
                if len(incomplete_examples) < 5:
                    got = len(seen.get(event_id, {}))
                    incomplete_examples.append({"event_id": event_id, "seen_by": got, "of": m})
        res = self.end(begun)

        # One unmeasured message answers every pending long poll, so no request is abandoned.
        stop.set()
        await self.send(rec, room_id, sender, f"f{m}.drain", "drain")
        _, pending = await asyncio.wait(pollers, timeout=10.0)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pollers, return_exceptions=True)

        lat = [when - t0 for event_id, t0 in sends for when in seen.get(event_id, {}).values()]
        # Deliveries seen before the phase ended count for the rate (the phase ends when the
        # last message was seen by all or its deadline passed).
        expected = len(sends) * m
        out: dict[str, Any] = {
            "members": m,
            "messages_requested": k,
            "messages_sent": len(sends),
            "send_failed": send_failed,
            "deliveries": len(lat),
            "deliveries_expected": expected,
            "deliveries_missed": expected - len(lat),
            "messages_not_seen_by_all": incomplete,
            "messages_not_seen_by_all_examples": incomplete_examples,
            "deliveries_per_s": rate(len(lat), res["wall_s"]),
            "delivery_latency": latency_stats(lat),
            "send_request_latency": latency_stats(send_lat),
            "long_polls": sum(polls),
            "pollers_cancelled_at_end": len(pending),
            "hit_time_budget": len(sends) + send_failed < k,
            "resources": res,
            "setup": setup,
        }
        if "server_cpu_s" in res and lat:
            out["server_cpu_ms_per_delivery"] = round(1000 * res["server_cpu_s"] / len(lat), 4)
        out.update(merge_reports(rec, sync_rec))
        return out


SCENARIOS = ("send", "history", "initial-sync", "fanout")


def int_list(text: str) -> list[int]:
    values = [int(x) for x in text.split(",") if x.strip()]
    if not values or any(not 1 <= v <= 5000 for v in values):
        raise argparse.ArgumentTypeError("a comma-separated list of numbers from 1 to 5000")
    return values


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8008")
    p.add_argument("--pid", type=int, action="append", default=[], help="server process to watch")
    p.add_argument("--db-parent-pid", type=int, help="PostgreSQL postmaster to watch (CPU)")
    p.add_argument("--redis-pid", type=int, help="Redis server to watch (CPU)")
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset")
    p.add_argument("--prefix", default="bench_", help="prefix of every account name")
    p.add_argument("--room-version", default="10")
    p.add_argument("--send-senders", type=int, default=8, help="S")
    p.add_argument("--send-messages", type=int, default=2000, help="N, in total over S senders")
    p.add_argument("--history-senders", type=int, default=8)
    p.add_argument("--history-events", type=int, default=10000, help="messages in the room")
    p.add_argument(
        "--history-reuse-send-room",
        type=int,
        choices=(0, 1),
        default=1,
        help="history builds on the send scenario's room (its messages count)",
    )
    p.add_argument("--history-page", type=int, default=100, help="/messages limit")
    p.add_argument("--initial-sync-rooms", type=int_list, default=[200, 1000], help="R list")
    p.add_argument("--initial-sync-reps", type=int, default=2)
    p.add_argument(
        "--initial-sync-messages",
        type=int,
        choices=(0, 1),
        default=0,
        help="send one message into each of those rooms",
    )
    p.add_argument("--fanout-members", type=int_list, default=[50, 200, 1000], help="M list")
    p.add_argument(
        "--fanout-messages",
        type=int_list,
        default=[20, 20, 10],
        help="K for each M of --fanout-members in order (the last one repeats)",
    )
    p.add_argument("--per-message-deadline", type=float, default=15.0)
    p.add_argument("--setup-concurrency", type=int, default=4, help="createRoom/join at once")
    p.add_argument("--setup-budget", type=float, default=300.0, help="bound of one setup step")
    p.add_argument("--scenario-budget", type=float, default=180.0, help="bound of one phase")
    p.add_argument("--history-fill-budget", type=float, default=300.0)
    p.add_argument("--deadline", type=float, default=1800.0, help="bound of the whole run")
    args = p.parse_args(argv)
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    for s in args.scenarios:
        if s not in SCENARIOS:
            p.error(f"unknown scenario {s!r}; choose from {', '.join(SCENARIOS)}")
    for name in ("send_senders", "history_senders"):
        if not 1 <= getattr(args, name) <= 64:
            p.error(f"--{name.replace('_', '-')} must be 1..64")
    for name in ("send_messages", "history_events"):
        if not 1 <= getattr(args, name) <= 100000:
            p.error(f"--{name.replace('_', '-')} must be 1..100000")
    if not 1 <= args.history_page <= 1000 or not 1 <= args.initial_sync_reps <= 10:
        p.error("--history-page must be 1..1000 and --initial-sync-reps 1..10")
    return args


async def run(args: argparse.Namespace, out: dict[str, Any]) -> None:
    watch = ProcWatch(args.pid, args.db_parent_pid, redis_pid=args.redis_pid) if args.pid else None
    if watch is not None:
        watch.start()
    bench = Bench(args, watch)
    methods = {
        "send": bench.scenario_send,
        "history": bench.scenario_history,
        "initial-sync": bench.scenario_initial_sync,
        "fanout": bench.scenario_fanout,
    }
    try:
        status, versions, _ = await bench.http.call(
            bench.setup_rec, "GET", "/_matrix/client/versions"
        )
        if status != 200:
            raise BenchError(f"GET /_matrix/client/versions -> {status}")
        out["server_versions"] = versions.get("versions") if isinstance(versions, dict) else None
        for name in args.scenarios:
            if bench.deadline.left() < 10:
                out["scenarios"][name] = {"skipped": "overall deadline"}
                continue
            t0 = time.perf_counter()
            print(f"[loadgen] {name} ...", file=sys.stderr, flush=True)
            try:
                result = await asyncio.wait_for(methods[name](), max(1.0, bench.deadline.left()))
            except (BenchError, TimeoutError) as exc:
                result = dict(bench.partial.get(name, {}))
                result["error"] = f"{type(exc).__name__}: {exc}".strip(": ")
                if isinstance(exc, TimeoutError):
                    result["error"] = "overall --deadline reached; figures are partial"
            result["scenario_wall_s"] = round(time.perf_counter() - t0, 3)
            out["scenarios"][name] = result
            print(
                f"[loadgen] {name} done in {result['scenario_wall_s']} s",
                file=sys.stderr,
                flush=True,
            )
    finally:
        out["setup_requests"] = bench.setup_rec.report()
        await bench.http.close()
        if watch is not None:
            watch.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out: dict[str, Any] = {
        "base_url": args.base_url,
        "params": {
            k: v for k, v in vars(args).items() if k not in ("pid", "db_parent_pid", "redis_pid")
        },
        "loadgen": {
            "python": platform.python_version(),
            "aiohttp": aiohttp.__version__,
            "pid": os.getpid(),
            "pollers_per_session": POLLERS_PER_SESSION,
        },
        "scenarios": {},
    }
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    try:
        asyncio.run(run(args, out))
    except (BenchError, aiohttp.ClientError, OSError) as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
    except KeyboardInterrupt:
        out["error"] = "interrupted"
    out["loadgen"]["cpu_s"] = round(time.process_time() - cpu0, 3)
    out["total_s"] = round(time.perf_counter() - t0, 3)
    print(json.dumps(out, indent=2))
    failed = "error" in out or any("error" in v for v in out["scenarios"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
