"""What data-leak prevention costs a send: ten DLP policies on, against none.

Run:  .venv/bin/python bench/dlp_send.py [--messages 500] [--deadline 300]
                                         [--database-url postgresql://...]

It opens a fresh Bastion in-process (`Runtime.open`: the real services, event hooks and database;
SQLite in a temporary directory unless --database-url names a PostgreSQL server, then a throwaway
schema: nothing listens on any port, nothing leaves the machine), makes two accounts and one
unencrypted room, and sends MESSAGES messages through `MessageService.send` (the service the HTTP
handler calls) in three phases:

- `off`: no DLP policy;
- `on_clean`: ten policies in force (every built-in detector, keywords, a regex and a medical
  record pattern; block, redact, warn and flag), on everyday messages that match none of them
  but carry digits, times, phone-like extensions and Arabic and Polish text;
- `on_hits`: the same policies, every tenth message carrying an email address (a `flag`
  policy: an audit record and a review entry in the event's transaction).

Then it times the detectors alone (the ten policies over the same messages, no database), the
figure the noise of a shared machine does not blur.

Prints messages/s and p50 / p95 / p99 / max ms per send for each phase, as one JSON object on
stdout and a table on stderr. Bounded by --messages and --deadline. No assertions on time.
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
from bastion.services.dlp.content import TextField
from bastion.services.dlp.policies import compile_section, find
from bastion.services.policy.document import parse_policy
from bastion.services.principal import Operator, Requester
from bastion.services.rooms.create import CreateRoomRequest

PASSWORD = "correct horse battery staple"
ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x0660 + d) for d in range(10)))
TEN_POLICIES: list[dict[str, Any]] = [
    {"name": "cards", "detectors": ["payment_card"], "action": "block"},
    {"name": "banking", "detectors": ["iban"], "action": "redact"},
    {"name": "polish ids", "detectors": ["pesel", "nip"], "action": "block"},
    {"name": "gulf ids", "detectors": ["saudi_national_id", "emirates_id"], "action": "block"},
    {"name": "egypt ids", "detectors": ["egyptian_national_id"], "action": "redact"},
    {"name": "contacts", "detectors": ["email"], "action": "flag"},
    {"name": "phones", "detectors": ["phone"], "action": "warn"},
    {"name": "projects", "detectors": [{"type": "keywords", "words": ["falcon", "سري للغاية",
                                                                        "ściśle tajne"]}],
     "action": "warn"},
    {"name": "tickets", "detectors": [{"type": "regex", "pattern": r"CASE-\d{6}"}],
     "action": "flag"},
    {"name": "patients", "detectors": [{"type": "medical_record", "pattern": r"MRN-\d{7}"}],
     "action": "block"},
]  # fmt: skip
CLEAN = [
    "Meeting moved to 10:30 in room 204, bring the Q3 figures (about 12 pages).",
    "الاجتماع الساعة 10:30 في القاعة 204، يرجى إحضار التقرير".translate(ARABIC_INDIC),
    "Spotkanie o 10:30 w sali 204, proszę przynieść raport za III kwartał.",
    "Build 4512 passed; 37 tests skipped, deploy window 18:00-19:00 UTC.",
]


def as_user(user_id: str) -> Requester:
    return Requester(user_id, "BENCH", is_admin=False)


def summary(samples_s: list[float], wall_s: float) -> dict[str, Any]:
    ms = sorted(s * 1000 for s in samples_s)
    if not ms:
        return {"n": 0}

    def pct(q: float) -> float:
        return round(ms[min(len(ms) - 1, int(len(ms) * q))], 2)

    return {
        "n": len(ms),
        "msgs_per_s": round(len(ms) / wall_s, 1),
        "p50_ms": pct(0.5),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(ms[-1], 2),
    }


async def send_phase(
    runtime: Runtime, room_id: str, sender: str, count: int, deadline: float, *, hits: bool
) -> dict[str, Any]:
    samples: list[float] = []
    phase = uuid.uuid4().hex[:6]
    wall = time.perf_counter()
    for i in range(count):
        if time.monotonic() > deadline:
            break
        body = CLEAN[i % len(CLEAN)]
        if hits and i % 10 == 0:
            body += f" Contact: person{i}@example.com"
        content = {"msgtype": "m.text", "body": body}
        started = time.perf_counter()
        await runtime.services.messages.send(
            as_user(sender), room_id, "m.room.message", content, f"{phase}-{i}"
        )
        samples.append(time.perf_counter() - started)
    return summary(samples, time.perf_counter() - wall)


def evaluation_cost(rounds: int = 2000) -> float:
    """The detectors' own CPU time per message (all ten policies, both phases), in µs."""
    policies = compile_section(parse_policy({"dlp": {"policies": TEN_POLICIES}}).dlp)
    fields = [[TextField("body", ("body",), body)] for body in CLEAN]
    started = time.perf_counter()
    for i in range(rounds):
        find(policies, fields[i % len(fields)])
    return round((time.perf_counter() - started) / rounds * 1e6, 1)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    deadline = time.monotonic() + args.deadline
    workdir = Path(tempfile.mkdtemp(prefix="bastion-dlp-bench-"))
    write_new_key(workdir / "signing.key")
    schema = f"bench_{uuid.uuid4().hex[:12]}" if args.database_url else None
    config = bench_config(workdir, database_url=args.database_url, schema=schema, presence=False)
    runtime = await Runtime.open(config, FakeClock(start_ms=int(time.time() * 1000)))
    try:
        services = runtime.services
        admin = await services.accounts.create_user(Operator("bench"), "root", PASSWORD,
                                                    is_admin=True)  # fmt: skip
        alice = await services.accounts.create_user(Operator("bench"), "alice", PASSWORD,
                                                    is_admin=False)  # fmt: skip
        room = await services.rooms.create_room(
            as_user(alice), CreateRoomRequest(preset="private_chat")
        )
        warmup = max(args.messages // 10, 10)
        result: dict[str, Any] = {"database": runtime.db.dialect, "policies": 0}
        await send_phase(runtime, room, alice, warmup, deadline, hits=False)
        result["off"] = await send_phase(runtime, room, alice, args.messages, deadline, hits=False)
        root = Requester(admin, "BENCH", is_admin=True)
        await services.policy.replace(root, {"dlp": {"policies": TEN_POLICIES}})
        result["policies"] = len(TEN_POLICIES)
        await send_phase(runtime, room, alice, warmup, deadline, hits=False)
        result["on_clean"] = await send_phase(
            runtime, room, alice, args.messages, deadline, hits=False
        )
        result["on_hits"] = await send_phase(
            runtime, room, alice, args.messages, deadline, hits=True
        )
        result["evaluation_us_per_message"] = evaluation_cost()
        return result
    finally:
        await runtime.close()
        shutil.rmtree(workdir, ignore_errors=True)
        if args.database_url and schema:
            await drop_schema(args.database_url, schema)


def table(result: dict[str, Any]) -> str:
    lines = [f"database {result['database']}, {result['policies']} DLP policies when on", ""]
    lines.append("| phase | n | msgs/s | p50 ms | p95 ms | p99 ms | max ms |")
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, row in result.items():
        if isinstance(row, dict) and row.get("n"):
            lines.append(
                f"| {name} | {row['n']} | {row['msgs_per_s']} | {row['p50_ms']} | {row['p95_ms']}"
                f" | {row['p99_ms']} | {row['max_ms']} |"
            )
    lines.append(
        f"\ndetectors' CPU per message (ten policies): {result['evaluation_us_per_message']} µs"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds for the run")
    parser.add_argument("--database-url", help="postgresql://...; default: SQLite in a temp dir")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result))
    print(table(result), file=sys.stderr)


if __name__ == "__main__":
    main()
