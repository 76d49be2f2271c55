"""Faults under load, on two processes of one homeserver (PostgreSQL + Redis).

Issue #15: "kill -9 one worker under load (nothing acknowledged is lost, the others keep
serving, restarted it rejoins); Redis stopped and restarted under load (no lost or duplicated
event, wake-ups resume)." Spec (PUT /rooms/{roomId}/send): a 200 answer carries "A unique
identifier for the event", which a client may then read (GET /rooms/{roomId}/event/{eventId}).

Load is a sender per process sending as fast as it is answered; what matters is which sends were
acknowledged (200 with an event ID), not timing. A send refused because its process is gone is
not acknowledged, and so not expected anywhere.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.multiprocess.cluster import (
    Client,
    Cluster,
    RedisServer,
    ServerProcess,
    timeline_events,
)
from tests.multiprocess.test_two_processes import collect, parked, room_with

LOAD_BEFORE = 40  # acknowledged sends on each process before the fault
LOAD_DURING = 40  # sends attempted while the fault lasts
REFUSED_PAUSE_S = 0.05


class Load:
    """Sends messages through one client until stopped; keeps what was acknowledged."""

    def __init__(self, client: Client, room_id: str, prefix: str) -> None:
        self.client, self.room_id, self.prefix = client, room_id, prefix
        self.acknowledged: list[str] = []
        self.refused = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._progress = asyncio.Condition()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                resp = await self.client.http.put(
                    f"/rooms/{self.room_id}/send/m.room.message/{self.prefix}-{n}",
                    json={"msgtype": "m.text", "body": f"{self.prefix} {n}"},
                )
            except httpx.TransportError:
                resp = None
            if resp is not None and resp.status_code == 200:
                self.acknowledged.append(resp.json()["event_id"])
            else:
                self.refused += 1
            async with self._progress:
                self._progress.notify_all()
            if resp is None:  # its process is down: a connection is refused at once, do not spin
                await asyncio.sleep(REFUSED_PAUSE_S)

    async def until(self, acknowledged: int = 0, attempts: int = 0) -> None:
        """Wait until this many sends were acknowledged (or attempted in all)."""
        async with self._progress:
            await asyncio.wait_for(
                self._progress.wait_for(
                    lambda: (
                        len(self.acknowledged) >= acknowledged
                        and len(self.acknowledged) + self.refused >= attempts
                    )
                ),
                timeout=120,
            )

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task


async def readable_everywhere(
    servers: list[ServerProcess], reader: Client, room_id: str, event_ids: list[str]
) -> None:
    for server in servers:
        client = reader.on(server)
        for event_id in event_ids:
            resp = await client.http.get(f"/rooms/{room_id}/event/{event_id}")
            assert resp.status_code == 200, (server.name, event_id, resp.text)
        await client.close()


async def test_kill_9_under_load_loses_nothing_acknowledged(cluster: Cluster) -> None:
    cluster.allow_tracebacks = True  # a process killed mid-request may log one on the other
    a, b = cluster.process("a"), cluster.process("b")
    a.start()
    b.start()
    alice = await cluster.login(a, cluster.create_user("alice"))
    bob = await cluster.login(b, cluster.create_user("bob"))
    room_id = await room_with(alice, bob)
    on_a, on_b = Load(alice, room_id, "a"), Load(bob, room_id, "b")
    on_a.start()
    on_b.start()
    await on_a.until(LOAD_BEFORE)
    await on_b.until(LOAD_BEFORE)

    a.kill()  # kill -9, mid-load
    before = len(on_b.acknowledged)
    await on_b.until(before + LOAD_DURING)  # B keeps serving
    await on_a.until(attempts=len(on_a.acknowledged) + on_a.refused + 3)  # A refuses meanwhile
    a.start()  # restarted on its port
    after = len(on_a.acknowledged)
    await on_a.until(after + LOAD_DURING)  # it serves again
    await on_a.stop()
    await on_b.stop()

    acknowledged = on_a.acknowledged + on_b.acknowledged
    await readable_everywhere([a, b], bob, room_id, acknowledged)
    # The restarted process rejoined: a send on it wakes a sync parked on the other.
    since = (await bob.sync_ok())["next_batch"]
    waiting = await parked(bob, since)
    event_id = await alice.send_text(room_id, "after the restart")
    resp = await waiting
    assert event_id in [e["event_id"] for e in timeline_events(resp.json(), room_id)]


async def test_redis_outage_under_load_loses_and_repeats_nothing(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.allow_tracebacks = True  # the bus may log its lost connection
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    try:
        await redis_outage(cluster, redis)
    finally:
        redis.stop()


async def redis_outage(cluster: Cluster, redis: RedisServer) -> None:
    cluster.use_redis(redis.url)
    a, b = cluster.process("a"), cluster.process("b")
    a.start()
    b.start()
    alice = await cluster.login(a, cluster.create_user("alice"))
    bob = await cluster.login(b, cluster.create_user("bob"))
    watcher = await cluster.login(b, cluster.create_user("watcher"))
    room_id = await room_with(alice, bob)
    await watcher.join(room_id)
    since = (await watcher.sync_ok())["next_batch"]
    on_a = Load(alice, room_id, "a")
    received: asyncio.Task[list[str]] | None = None
    on_a.start()
    try:
        await on_a.until(LOAD_BEFORE)
        redis.stop()
        await on_a.until(len(on_a.acknowledged) + LOAD_DURING)  # sends go on without Redis
        redis.start()  # same port: the processes reconnect by themselves
        await on_a.until(len(on_a.acknowledged) + LOAD_DURING)
    finally:
        await on_a.stop()
    assert on_a.refused == 0  # Redis down never refuses a send
    received = asyncio.create_task(collect(watcher, room_id, since, len(on_a.acknowledged)))
    seen = await received
    assert len(seen) == len(set(seen))  # none repeated
    assert seen == on_a.acknowledged  # none lost, in the order they were acknowledged

    # Wake-ups resume: a send on A wakes a sync parked on B.
    waiting = await parked(watcher, (await watcher.sync_ok())["next_batch"])
    event_id = await alice.send_text(room_id, "after the outage")
    resp = await waiting
    assert event_id in [e["event_id"] for e in timeline_events(resp.json(), room_id)]
