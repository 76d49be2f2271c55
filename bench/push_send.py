"""What push rules cost a send: time per message in rooms of 2 and of 1,000 members.

Run:  .venv/bin/python bench/push_send.py [--members 1000] [--messages 300] [--deadline 600]
                                          [--database-url postgresql://...]

It opens a fresh Bastion in-process (`Runtime.open`: the real services and database; SQLite in a
temporary directory unless --database-url names a PostgreSQL server, then a throwaway schema),
creates MEMBERS accounts, one room with all of them and one room of two, and sends MESSAGES
messages into each through `MessageService.send` (the service the HTTP handler calls), by two
alternating senders. Every member of the big room gets a notification for each message (the
default `.m.rule.message`), one of them is mentioned in every tenth message (a highlight, a
row of its own), and one member has their own rule (a keyword), so the generic outcome, the
differing rows and the customised evaluation are all exercised. It then reads the unread counts
of a member who never read anything.

Prints p50 / p95 / max ms per send and database queries per send for each room, and the time of
the unread-count read, as one JSON object on stdout and a table on stderr. Bounded by counts and
--deadline. No assertions on time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchlib import drop_schema
from inprocess import bench_config

from bastion.app import Runtime
from bastion.clock import FakeClock
from bastion.server_key import write_new_key
from bastion.services.principal import Operator, Requester
from bastion.services.rooms.create import CreateRoomRequest

PASSWORD = "correct horse battery staple"


def as_user(user_id: str) -> Requester:
    return Requester(user_id, "BENCH", is_admin=False)


def summary(samples_s: list[float], queries: int) -> dict[str, Any]:
    ms = sorted(s * 1000 for s in samples_s)
    if not ms:
        return {"n": 0}
    return {
        "n": len(ms),
        "p50_ms": round(ms[len(ms) // 2], 2),
        "p95_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.95))], 2),
        "max_ms": round(ms[-1], 2),
        "queries_per_send": round(queries / len(ms), 1),
    }


async def room_with(runtime: Runtime, members: list[str], deadline: float) -> str:
    services = runtime.services
    room_id = await services.rooms.create_room(
        as_user(members[0]), CreateRoomRequest(preset="public_chat")
    )
    for member in members[1:]:
        if time.monotonic() > deadline:
            break
        await services.membership.join(as_user(member), room_id)
    return room_id


async def send_phase(
    runtime: Runtime, room_id: str, senders: list[str], mentioned: str, count: int, deadline: float
) -> dict[str, Any]:
    samples: list[float] = []
    queries = runtime.db.query_count
    for i in range(count):
        if time.monotonic() > deadline:
            break
        content: dict[str, Any] = {"msgtype": "m.text", "body": f"message {i} pilne"}
        if i % 10 == 0:
            content["m.mentions"] = {"user_ids": [mentioned]}
        started = time.perf_counter()
        await runtime.services.messages.send(
            as_user(senders[i % 2]), room_id, "m.room.message", content, f"{room_id}-{i}"
        )
        samples.append(time.perf_counter() - started)
    return summary(samples, runtime.db.query_count - queries)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    deadline = time.monotonic() + args.deadline
    workdir = Path(tempfile.mkdtemp(prefix="bastion-push-bench-"))
    write_new_key(workdir / "signing.key")
    schema = f"bench_{uuid.uuid4().hex[:12]}" if args.database_url else None
    config = bench_config(workdir, database_url=args.database_url, schema=schema, presence=False)
    runtime = await Runtime.open(config, FakeClock(start_ms=int(time.time() * 1000)))
    try:
        services = runtime.services
        users = [
            await services.accounts.create_user(
                Operator("bench"), f"u{i:04d}", PASSWORD, is_admin=False
            )
            for i in range(args.members)
        ]
        keyword = {"pattern": "pilne", "actions": ["notify", {"set_tweak": "highlight"}]}
        await services.push_rules.put_rule(
            as_user(users[3]), "content", "urgent", keyword, before=None, after=None
        )
        big = await room_with(runtime, users, deadline)
        small = await room_with(runtime, users[:2], deadline)
        result: dict[str, Any] = {"members": args.members, "database": runtime.db.dialect}
        result["send_2_members"] = await send_phase(
            runtime, small, users[:2], users[1], args.messages, deadline
        )
        result[f"send_{args.members}_members"] = await send_phase(
            runtime, big, users[:2], users[2], args.messages, deadline
        )
        started = time.perf_counter()
        for _ in range(50):
            await services.notifications.unread(users[5], [big, small], by_thread=True)
        result["unread_read_ms"] = round((time.perf_counter() - started) / 50 * 1000, 3)
        return result
    finally:
        await runtime.close()
        shutil.rmtree(workdir, ignore_errors=True)
        if args.database_url and schema:
            await drop_schema(args.database_url, schema)


def table(result: dict[str, Any]) -> str:
    lines = [f"database {result['database']}, big room of {result['members']} members", ""]
    lines.append("| phase | n | p50 ms | p95 ms | max ms | queries/send |")
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, row in result.items():
        if isinstance(row, dict) and row.get("n"):
            lines.append(
                f"| {name} | {row['n']} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']}"
                f" | {row['queries_per_send']} |"
            )
    lines.append(
        f"\nunread counts of a member with every message unread: {result['unread_read_ms']} ms"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds for the run")
    parser.add_argument("--database-url", help="postgresql://...; default: SQLite in a temp dir")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result))
    print(table(result), file=sys.stderr)


if __name__ == "__main__":
    main()
