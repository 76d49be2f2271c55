"""The woken /sync of a fan-out, in-process: CPU and database statements per woken sync.

Run:  .venv/bin/python bench/fanout_inprocess.py [--members 200] [--messages 12]
      scripts/with-postgres .venv/bin/python bench/fanout_inprocess.py --postgres

In-process (like push_send.py: `Runtime.open`, the real services, SQLite in a temporary folder or
a throwaway PostgreSQL schema from BASTION_TEST_PG_DSN), no HTTP: M members of one room park a
long-poll through `SyncService.sync` from the same token, one message is sent, every poll
answers; K times. Per woken sync: process CPU (time.process_time, the send included and spread
over the M syncs) and statements (`db.query_count`), the first two rounds left out as warm-up.
What bench/compare's fanout measures without the HTTP layer, so a change to the sync service
shows in its own figures (`min_ms` is the least noisy on a busy machine). No assertions on time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
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
from bastion.services.sync.request import parse_sync_request

PASSWORD = "correct horse battery staple"
FILTER = json.dumps({"room": {"timeline": {"limit": 10}, "state": {"lazy_load_members": True}}})
WARM_UP_ROUNDS = 2


async def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bastion-fanout-bench-"))
    write_new_key(workdir / "signing.key")
    url = os.environ.get("BASTION_TEST_PG_DSN") if args.postgres else None
    schema = f"bench_{uuid.uuid4().hex[:12]}" if url else None
    config = bench_config(workdir, database_url=url, schema=schema, presence=False)
    runtime = await Runtime.open(config, FakeClock(start_ms=int(time.time() * 1000)))
    try:
        return await rounds(runtime, args.members, args.messages)
    finally:
        await runtime.close()
        if url and schema:
            await drop_schema(url, schema)
        shutil.rmtree(workdir)


async def rounds(runtime: Runtime, members: int, messages: int) -> dict[str, Any]:
    services, db = runtime.services, runtime.db
    users = [
        await services.accounts.create_user(
            Operator("bench"), f"m{i:04d}", PASSWORD, is_admin=False
        )
        for i in range(members + 1)
    ]
    as_user = {u: Requester(u, "BENCH", is_admin=False) for u in users}
    sender, pollers = users[0], users[1:]
    room_id = await services.rooms.create_room(
        as_user[sender], CreateRoomRequest(preset="public_chat")
    )
    for user in pollers:
        await services.membership.join(as_user[user], room_id)

    async def sync(user: str, params: dict[str, str], mark: int | None = None) -> dict[str, Any]:
        request = await parse_sync_request(as_user[user], params, services.account_data)
        return await services.sync.sync(as_user[user], request, authenticated_at=mark)

    since = {u: (await sync(u, {"filter": FILTER}))["next_batch"] for u in pollers}
    per_sync_ms: list[float] = []
    statements = woken = 0
    for k in range(messages):
        mark = services.sync.revocations_mark()  # the session was checked: no device read
        polls = [
            asyncio.create_task(
                sync(u, {"filter": FILTER, "since": since[u], "timeout": "30000"}, mark)
            )
            for u in pollers
        ]
        for _ in range(2000):  # bounded: until every poll is parked
            if runtime.wakeups.waiting_users() == len(pollers):
                break
            await asyncio.sleep(0.005)
        queries, cpu = db.query_count, time.process_time()
        body = {"msgtype": "m.text", "body": f"m{k}"}
        await services.messages.send(as_user[sender], room_id, "m.room.message", body, f"t{k}")
        answers = await asyncio.gather(*polls)
        cpu, queries = time.process_time() - cpu, db.query_count - queries
        for user, answer in zip(pollers, answers, strict=True):
            since[user] = answer["next_batch"]
        if k >= WARM_UP_ROUNDS:
            per_sync_ms.append(cpu * 1000 / len(pollers))
            statements += queries
            woken += len(pollers)
    per_sync_ms.sort()
    return {
        "database": db.dialect,
        "members": members,
        "woken_syncs": woken,
        "cpu_ms_per_woken_sync": round(sum(per_sync_ms) / max(len(per_sync_ms), 1), 4),
        "min_ms": round(per_sync_ms[0], 4) if per_sync_ms else None,
        "median_ms": round(per_sync_ms[len(per_sync_ms) // 2], 4) if per_sync_ms else None,
        "statements_per_woken_sync": round(statements / max(woken, 1), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--messages", type=int, default=12)
    parser.add_argument("--postgres", action="store_true", help="BASTION_TEST_PG_DSN's server")
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
