"""Is a file still named? The purges' check per file, with the media reference index (0042)
and with the full scan it replaced, at a given number of stored events.

Run:  .venv/bin/python bench/media_references.py [--events 200000] [--files 100]
                                                  [--deadline 600]
                                                  [--database-url postgresql://... | --postgres]

In-process (`Runtime.open`, the real pipeline and database: SQLite in a temporary directory
unless --database-url names a PostgreSQL server, or --postgres takes it from
BASTION_TEST_PG_DSN as scripts/with-postgres exports it; then a throwaway schema). alice sends
EVENTS messages into one room through the pipeline (`append_batch`), one in 100 naming a file.
Then, FILES times each:

  indexed, named     the purge's check (`SqlRetentionStore.delete_unreferenced_media` in a
                     transaction) for a file a message names: kept;
  indexed, unnamed   the same for a file nothing names (what a purge deletes; here no media
                     row exists, so nothing is deleted);
  scan, unnamed      the check the index replaced (a LIKE over every event's JSON and both
                     originals tables), for a file nothing names: the slowest case, which
                     every file a purge deletes paid, inside the purge's write transaction.

It prints p50 / p99 / max ms per file, JSON to stdout and a table to stderr. Every loop is
bounded by its count and by --deadline. No assertions on time.
"""

# A measurement script, not server code: one long linear scenario.

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from benchlib import latency_stats
from inprocess import add_database_options, bench_runtime, parse_with_database

from bastion.app import Runtime
from bastion.events.builder import EventDraft
from bastion.services.principal import Operator, Requester
from bastion.services.rooms.create import CreateRoomRequest
from bastion.store.sql.retention import SqlRetentionStore

SEED_BATCH = 500
FILE_EVERY = 100  # one message in FILE_EVERY names a file
# What the purge asked before the index (migration 0042): every stored JSON, for each file.
FULL_SCAN = (
    "SELECT 1 WHERE EXISTS (SELECT 1 FROM events WHERE pdu LIKE ?)"
    " OR EXISTS (SELECT 1 FROM redacted_event_originals WHERE pdu LIKE ?)"
    " OR EXISTS (SELECT 1 FROM held_event_originals WHERE pdu LIKE ?)"
    " OR EXISTS (SELECT 1 FROM profiles WHERE avatar_url = ?)"
)


async def seed(runtime: Runtime, events: int, deadline: float) -> int:
    """alice's room with up to `events` messages; how many were sent."""
    services = runtime.services
    alice = await services.accounts.create_user(
        Operator("bench"), "alice", "bench-password-1", is_admin=False
    )
    requester = Requester(alice, "BENCH", is_admin=False)
    room_id = await services.rooms.create_room(requester, CreateRoomRequest(preset="private_chat"))
    pipeline = services.messages.pipeline
    sent = 0
    while sent < events and time.monotonic() < deadline:
        batch = []
        for n in range(sent, min(sent + SEED_BATCH, events)):
            content: dict[str, Any] = {"msgtype": "m.text", "body": f"ward handover note {n}"}
            if n % FILE_EVERY == 0:
                content = {"msgtype": "m.file", "body": "scan.pdf", "url": _uri(f"named{n}")}
            batch.append((room_id, EventDraft("m.room.message", alice, content)))
        await pipeline.append_batch(batch)
        sent += len(batch)
    return sent


def _uri(media_id: str) -> str:
    return f"mxc://bench.local/{media_id}"


async def measure(runtime: Runtime, sent: int, files: int, deadline: float) -> dict[str, Any]:
    db, store = runtime.db, SqlRetentionStore()
    rows: dict[str, list[float]] = {"indexed_named": [], "indexed_unnamed": [], "scan_unnamed": []}
    named = [f"named{n}" for n in range(0, sent, FILE_EVERY)][:files]
    for i in range(files):
        if time.monotonic() > deadline:
            break
        for key, media_id in (
            ("indexed_named", named[i % len(named)]),
            ("indexed_unnamed", f"unnamed{i}"),
        ):
            started = time.perf_counter()
            async with db.transaction() as t:
                await store.delete_unreferenced_media(t, "bench.local", [media_id])
            rows[key].append(time.perf_counter() - started)
        pattern = f"%{_uri(f'unnamed{i}')}%"
        started = time.perf_counter()
        await db.fetch_val(FULL_SCAN, pattern, pattern, pattern, _uri(f"unnamed{i}"))
        rows["scan_unnamed"].append(time.perf_counter() - started)
    return {key: latency_stats(samples) for key, samples in rows.items() if samples}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    deadline = time.monotonic() + args.deadline
    result: dict[str, Any] = {}
    async with bench_runtime(args.database_url, "bastion-media-refs-bench-") as runtime:
        started = time.perf_counter()
        sent = await seed(runtime, args.events, deadline)
        result |= {"database": runtime.db.dialect, "events": sent,
                   "setup_s": round(time.perf_counter() - started, 1)}  # fmt: skip
        print(f"seeded {sent} events in {result['setup_s']} s", file=sys.stderr)
        result |= await measure(runtime, sent, args.files, deadline)
    return result


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{result.get('database')}, {result.get('events')} events",
        f"{'check per file':<34}{'n':>5}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}",
    ]
    for name, key in (
        ("index: a file a message names", "indexed_named"),
        ("index: a file nothing names", "indexed_unnamed"),
        ("full scan: a file nothing names", "scan_unnamed"),
    ):
        s = result.get(key) or {}
        if s.get("count"):
            lines.append(
                f"{name:<34}{s['count']:>5}{s['p50_ms']:>9}{s['p99_ms']:>9}{s['max_ms']:>9}"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--files", type=int, default=100, help="checks of each kind")
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds for the run")
    add_database_options(parser)
    result = asyncio.run(run(parse_with_database(parser)))
    print(json.dumps(result, indent=2))
    print(table(result), file=sys.stderr)


if __name__ == "__main__":
    main()
