"""Compliance export of 100,000 messages with attachments: time, peak memory, manifest verified.

Run:  .venv/bin/python bench/export_100k.py [--messages 100000] [--attachment-every 100]
                                            [--attachment-kb 64] [--format jsonl|csv|eml]
                                            [--deadline 900] [--database-url postgresql://...]

In-process (no network: a fresh Bastion on SQLite in a temporary folder, or a throwaway
PostgreSQL schema), with a FakeClock. It seeds directly through the services, not HTTP: 20
accounts, 50 rooms, then MESSAGES messages in Polish, Arabic and English through the event
pipeline's `append_batch` (500 per transaction, the clock moved 1 s per batch), one in
ATTACHMENT_EVERY an `m.image` pointing at a file of ATTACHMENT_KB random KB uploaded through
the media service. Then it runs two export jobs the way the worker does (`run_pending`), each
with attachments included in the zip: the first tenth of the history (by time range), then all
of it, and reports for each: seconds, events, archive size, the peak of Python allocations
during the export (tracemalloc), the growth of the process's peak RSS, and whether every file's
SHA-256 matches `manifest.json` (re-read from the zip, streamed); for EML, how many inner
parts and messages the zip holds (each part's count checked against the manifest's). Memory
that does not grow with the export's size is the point: compare the two peaks. JSON to stdout,
a summary to stderr.
"""

# A measurement script, not server code: one long linear scenario.
# ruff: noqa: S311, SIM905

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from benchlib import drop_schema
from inprocess import bench_config

from bastion.app import Runtime
from bastion.clock import FakeClock
from bastion.events.builder import EventDraft
from bastion.server_key import write_new_key
from bastion.services.export.request import ExportRequest
from bastion.services.media.service import UploadInfo
from bastion.services.principal import Operator, Requester
from bastion.services.rooms.create import CreateRoomRequest

PASSWORD = "correct horse battery staple"
USERS, ROOMS, BATCH = 20, 50, 500
WORDS = (
    "Zażółć gęślą jaźń spotkanie umowa faktura مرحبا اجتماع مشروع تقرير فاتورة the meeting "
    "contract invoice budget review release deploy report patient record"
).split()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--attachment-every", type=int, default=100)
    parser.add_argument("--attachment-kb", type=int, default=64)
    parser.add_argument("--format", choices=["jsonl", "csv", "eml"], default="jsonl")
    parser.add_argument("--deadline", type=float, default=900.0, help="seconds for seeding")
    parser.add_argument("--database-url", default=None)
    return parser.parse_args()


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def seed(runtime: Runtime, clock: FakeClock, args: argparse.Namespace) -> dict[str, Any]:
    """Accounts, rooms, attachments and messages; returns what the exports select on."""
    services, rng = runtime.services, random.Random(1)
    users = [
        await services.accounts.create_user(Operator("bench"), f"user{i}", PASSWORD, is_admin=False)
        for i in range(USERS)
    ]
    rooms = []
    for i in range(ROOMS):
        creator = Requester(users[i % USERS], "BENCH", is_admin=False)
        rooms.append(await services.rooms.create_room(creator, CreateRoomRequest(name=f"r{i}")))
    pipeline = services.messages._pipeline  # the path every send takes, many per transaction
    written, tenth_ts, deadline = 0, None, time.monotonic() + args.deadline
    attachments, started = 0, time.perf_counter()
    while written < args.messages and time.monotonic() < deadline:
        batch = []
        for _ in range(min(BATCH, args.messages - written)):
            room_index = rng.randrange(ROOMS)
            sender = users[room_index % USERS]  # the creator: always joined
            body = " ".join(rng.choices(WORDS, k=rng.randint(3, 14)))
            content: dict[str, Any] = {"msgtype": "m.text", "body": body}
            if (written + len(batch)) % args.attachment_every == 0:
                data = rng.randbytes(args.attachment_kb * 1024)
                uploader = Requester(sender, "BENCH", is_admin=False)
                info = UploadInfo("image/png", "scan.png", len(data))
                mxc = await services.media.upload(uploader, info, _one_chunk(data))
                content = {"msgtype": "m.image", "body": "scan.png", "url": mxc}
                attachments += 1
            batch.append((rooms[room_index], EventDraft("m.room.message", sender, content)))
        await pipeline.append_batch(batch)
        written += len(batch)
        clock.advance(1)
        if tenth_ts is None and written >= args.messages // 10:
            tenth_ts = clock.now_ms()
        if written % 20_000 == 0:
            print(f"  {written} messages", file=sys.stderr)
    return {
        "messages": written, "attachments": attachments, "tenth_ts": tenth_ts,
        "seed_s": round(time.perf_counter() - started, 1),
    }  # fmt: skip


def verify(path: Path) -> dict[str, Any]:
    """Re-hash every file of the zip, streamed, against manifest.json."""
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        listed = {entry["name"]: entry["sha256"] for entry in manifest["files"]}
        bad = 0
        for name in archive.namelist():
            if name == "manifest.json":
                continue
            digest = hashlib.sha256()
            with archive.open(name) as handle:
                while chunk := handle.read(1 << 16):
                    digest.update(chunk)
            bad += listed.get(name) != digest.hexdigest()
        complete = set(listed) == set(archive.namelist()) - {"manifest.json"}
        parts = {part["name"]: part["messages"] for part in manifest.get("eml_parts", [])}
        eml_messages = sum(_count_eml(archive, name, count) for name, count in parts.items())
    result = {"files": len(listed), "verified": complete and bad == 0, "mismatches": bad}
    if parts:
        result.update(eml_parts=len(parts), eml_messages=eml_messages)
    return result


def _count_eml(archive: zipfile.ZipFile, name: str, listed: int) -> int:
    """The .eml files in one inner part (read from the outer zip, not extracted); -1 if the
    count differs from the manifest's."""
    with archive.open(name) as handle, zipfile.ZipFile(handle) as part:
        count = sum(1 for n in part.namelist() if n.endswith(".eml"))
    return count if count == listed else -1


async def export(runtime: Runtime, request: ExportRequest) -> dict[str, Any]:
    exports = runtime.services.exports
    admin = Operator("bench")
    export_id = await exports.schedule(admin, request)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    started = time.perf_counter()
    await exports.run_pending()
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    status = await exports.status(admin, export_id)
    path = exports.archive_path(export_id)
    manifest = verify(path) if status.status == "done" else {}
    return {
        "status": status.status, "error": status.error, "seconds": round(seconds, 2),
        "archive_mb": round(path.stat().st_size / 1e6, 1) if path.exists() else None,
        "tracemalloc_peak_mb": round(peak / 1e6, 1),
        "peak_rss_growth_mb": round((rss_after - rss_before) / 1024, 1),
        "manifest": manifest,
    }  # fmt: skip


async def main() -> None:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bastion-export-bench-"))
    schema = f"bench_{uuid.uuid4().hex[:12]}" if args.database_url else None
    write_new_key(workdir / "signing.key")
    config = bench_config(workdir, database_url=args.database_url, schema=schema, presence=False)
    clock = FakeClock()
    runtime = await Runtime.open(config, clock)
    try:
        seeded = await seed(runtime, clock, args)
        print(f"seeded {seeded}", file=sys.stderr)
        common = {"format": args.format, "include_media": True}
        tenth = await export(runtime, ExportRequest(to_ts=seeded["tenth_ts"], **common))
        print(f"first tenth: {tenth}", file=sys.stderr)
        whole = await export(runtime, ExportRequest(**common))
        print(f"everything: {whole}", file=sys.stderr)
        database = "postgresql" if args.database_url else "sqlite"
        result = {"seeded": seeded, "format": args.format, "tenth": tenth, "all": whole,
                  "database": database, "pid": os.getpid()}  # fmt: skip
        print(json.dumps(result, indent=1))
    finally:
        await runtime.close()
        if args.database_url and schema:
            await drop_schema(args.database_url, schema)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
