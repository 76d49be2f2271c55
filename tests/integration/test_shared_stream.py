"""Stream positions shared by several writers of one PostgreSQL database (store/shared_stream.py)
and the order of one room written from two processes (services/rooms/pipeline.py).

Two writers here are two pools on one database in this test process, each with its own
allocator (two `Runtime`s for the room test), so what one learns of the other comes only from
the `stream_writers` rows (`refresh`, the heartbeat) or from frontier messages handed over by
hand (the bus). PostgreSQL only: SQLite has one writing process.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import msgspec
import pytest

from bastion.app.positions import readable_bus
from bastion.clock import FakeClock
from bastion.config import DatabaseConfig
from bastion.config_sections import ServerConfig
from bastion.errors import MatrixError
from bastion.pubsub.memory import MemoryBus
from bastion.pubsub.messages import EventsPersisted
from bastion.store.database import Database
from bastion.store.lifeline import Lifeline
from bastion.store.shared_stream import GRACE_MS, SharedStreamPositions, WriterTiming
from tests.conftest import Homeserver, UserClient, make_config, start_homeserver
from tests.store.conftest import open_db

pytestmark = pytest.mark.postgres

TIMING = WriterTiming(lease_ms=30_000, interval_s=1.0)


@pytest.fixture
def db_kind() -> str:
    """PostgreSQL only (skipped without BASTION_TEST_PG_DSN)."""
    from tests.conftest import PG_DSN_VAR, pg_dsn

    if pg_dsn() is None:
        pytest.skip(f"{PG_DSN_VAR} is not set (run under scripts/with-postgres)")
    return "postgres"


class Pools:
    """Two pools on one migrated database, as two processes would hold, and the writers joined
    on them (closed at the end)."""

    def __init__(self, url: str, dbs: tuple[Database, Database]) -> None:
        self.url = url
        self.dbs = dbs
        self.clock = FakeClock()
        self.writers: list[SharedStreamPositions] = []

    async def join(self, index: int) -> SharedStreamPositions:
        """Join on pool `index` while the writers already there beat (a newcomer waits until
        they have acknowledged it)."""
        lifeline = await Lifeline.open(self.url)
        peers = list(self.writers)
        task = asyncio.create_task(
            SharedStreamPositions.join(self.dbs[index], self.clock, lifeline, TIMING)
        )
        for _ in range(500):
            if task.done():
                self.writers.append(task.result())
                return task.result()
            for peer in peers:
                await peer.refresh()
            self.clock.advance(TIMING.interval_s)  # the newcomer's next look
            await asyncio.wait({task}, timeout=0.05)  # returns as soon as it has joined
        task.cancel()
        raise AssertionError("the newcomer was never acknowledged")


@pytest.fixture
async def pools(database_config: DatabaseConfig) -> AsyncIterator[Pools]:
    from bastion.store.migrations.runner import migrate

    first, second = await open_db(database_config), await open_db(database_config)
    await migrate(first, 0)
    made = Pools(database_config.url, (first, second))
    try:
        yield made
    finally:
        for writer in made.writers:
            await writer.close()
        await first.close()
        await second.close()


class Interleaving:
    """Writers driven by a seeded random schedule, the bus played by hand (late, reordered)."""

    def __init__(self, writers: list[SharedStreamPositions], seed: int) -> None:
        self.writers = writers
        self.rng = random.Random(seed)
        self.mail: list[tuple[SharedStreamPositions, int, int]] = []  # (to, writer, frontier)
        for writer in writers:
            writer.listen(self.post)
        self.open: list[tuple[AbstractContextManager[list[int]], list[int]]] = []
        self.handed_out: set[int] = set()
        self.bounds = [w.persisted_upto() for w in writers]

    def post(self, writer: int, frontier: int) -> None:
        """The bus: a writer's frontier, for every other writer, delivered later."""
        self.mail.extend((w, writer, frontier) for w in self.writers if w.writer_id != writer)

    async def step(self) -> None:
        roll = self.rng.random()
        if roll < 0.35:
            writer = self.rng.choice(self.writers)
            block: AbstractContextManager[list[int]] = writer.allocate(self.rng.randint(1, 3))
            positions = block.__enter__()
            assert self.handed_out.isdisjoint(positions)
            self.handed_out.update(positions)
            self.open.append((block, positions))
        elif roll < 0.7 and self.open:
            block, _ = self.open.pop(self.rng.randrange(len(self.open)))  # in any order
            block.__exit__(None, None, None)
        elif roll < 0.85:
            await self.rng.choice(self.writers).refresh()
        elif self.mail:
            to, sender, frontier = self.mail.pop(self.rng.randrange(len(self.mail)))
            to.on_peer_frontier(sender, frontier)

    def check(self) -> None:
        """No reader's bound reaches a position in flight anywhere; no bound goes down."""
        in_flight = [p for _, positions in self.open for p in positions]
        for i, writer in enumerate(self.writers):
            upto = writer.persisted_upto()
            assert upto >= self.bounds[i], "persisted_upto went down"
            self.bounds[i] = upto
            assert not in_flight or upto < min(in_flight), (upto, sorted(in_flight))

    async def settle(self) -> None:
        for block, _ in self.open:
            block.__exit__(None, None, None)
        self.open.clear()
        for _ in range(2):
            for writer in self.writers:
                await writer.refresh()


async def test_no_reader_passes_a_position_in_flight_on_another_writer(pools: Pools) -> None:
    """store/stream.py: "`persisted_upto` is the highest position below which nothing is still
    in flight: a reader that has seen everything up to it can never later discover an earlier
    position committing behind it, even when transactions commit out of order (PostgreSQL)".
    Here across two writers, with seeded random interleavings of allocations, out-of-order
    ends, heartbeats and late, reordered frontier messages."""
    a, b = await pools.join(0), await pools.join(1)
    for seed in range(3):
        run = Interleaving([a, b], seed)
        for _ in range(300):
            await run.step()
            run.check()
        await run.settle()
        assert min(a.persisted_upto(), b.persisted_upto()) >= max(run.handed_out)  # no stall


async def test_a_killed_writer_stalls_the_others_only_until_its_life_line_is_seen_gone(
    pools: Pools,
) -> None:
    """A process that dies with a position in flight must not stall everyone for long: once
    two views in a row have found its life line gone (its sessions ended), it is left out."""
    a, b = await pools.join(0), await pools.join(1)
    stuck = a.allocate()
    [lost] = stuck.__enter__()
    await a.refresh()
    await a.close()  # killed: its sessions end, its row stays with the position in flight
    await b.refresh()
    with b.allocate() as [later]:
        assert later > lost
    assert b.persisted_upto() < lost  # one view without its life line: not yet
    await b.refresh()
    assert b.persisted_upto() >= later


async def test_a_hung_writer_stalls_the_others_only_until_its_lease_ends(pools: Pools) -> None:
    """A process that stops beating but keeps its sessions holds the others back until its
    lease (and the clock-skew grace) has passed; it allocates nothing once its lease is over."""
    a, b = await pools.join(0), await pools.join(1)
    stuck = a.allocate()
    [lost] = stuck.__enter__()
    await a.refresh()  # then no more heartbeats
    await b.refresh()
    with b.allocate() as [later]:
        assert later > lost
    pools.clock.advance((TIMING.lease_ms + GRACE_MS) / 1000 - 2)
    await b.refresh()
    assert b.persisted_upto() < lost  # still within the lease: it might commit yet
    pools.clock.advance(3)
    await b.refresh()
    assert b.persisted_upto() >= later
    with pytest.raises(MatrixError), a.allocate():
        pass
    stuck.__exit__(None, None, None)


async def test_a_newcomer_starts_above_every_bound_handed_out(pools: Pools) -> None:
    """A joining writer allocates nothing until every live writer has acknowledged it, and then
    only above what they have handed to their readers."""
    a = await pools.join(0)
    for _ in range(5):
        with a.allocate(3):
            pass
    handed = a.persisted_upto()
    b = await pools.join(1)
    with b.allocate() as [first]:
        assert first > handed
        assert a.persisted_upto() == handed  # a has acknowledged b: b's position holds it back
        await a.refresh()
        assert a.persisted_upto() < first


# -- two Runtimes sending into one room ---------------------------------------------------------


@pytest.fixture
async def two_servers(
    tmp_path: Path, database_config: DatabaseConfig
) -> AsyncIterator[tuple[Homeserver, Homeserver]]:
    """Two full servers on one database, as `[server] workers = 2` runs them (no Redis here:
    each has its own in-memory bus, so they learn of each other through the database)."""
    clock = FakeClock()
    config = make_config(tmp_path, database_config, server=ServerConfig(workers=2))
    first_runtime, first_http = await start_homeserver(config, clock)
    first = Homeserver(first_runtime, first_http, clock)
    task = asyncio.create_task(start_homeserver(config, clock))
    for _ in range(500):
        if task.done():
            break
        await shared(first).refresh()
        clock.advance(TIMING.interval_s)
        await asyncio.wait({task}, timeout=0.05)  # returns as soon as it has joined
    second_runtime, second_http = task.result()
    second = Homeserver(second_runtime, second_http, clock)
    try:
        yield first, second
    finally:
        for server in (first, second):
            await server.http.aclose()
            await server.runtime.close()


def shared(server: Homeserver) -> SharedStreamPositions:
    positions = server.runtime.positions
    assert isinstance(positions, SharedStreamPositions)
    return positions


async def beat(*servers: Homeserver) -> None:
    """Two heartbeats each: every writer's promise reaches every reader."""
    for _ in range(2):
        for server in servers:
            await shared(server).refresh()


async def all_messages(user: UserClient, room_id: str) -> list[dict[str, Any]]:
    """The room's timeline, oldest first, through /messages."""
    events: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        params: dict[str, str] = {"dir": "f", "limit": "100"}
        if token is not None:
            params["from"] = token
        resp = await user.get(f"/rooms/{room_id}/messages", params=params)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        events.extend(body["chunk"])
        if not body["chunk"] or "end" not in body:
            return events
        token = body["end"]


async def test_two_processes_sending_into_one_room_give_one_order(
    two_servers: tuple[Homeserver, Homeserver],
) -> None:
    """Two processes sending 200 messages each into one room at once: every event has its own
    stream position, /messages and /sync on both give one order with no gap, and each event's
    prev_events is the event before it (server-server-api: "prev_events: Event IDs for the most
    recent events in the room that the homeserver was aware of when it made this event")."""
    first, second = two_servers
    await first.create_user("alice")
    await first.create_user("bob")
    alice, bob = await first.login("alice"), await second.login("bob")
    room_id = await alice.create_room(preset="public_chat")
    await beat(first, second)
    await bob.join(room_id)
    await beat(first, second)
    since = (await bob.sync())["next_batch"]

    async def send_many(user: UserClient, name: str) -> None:
        for i in range(200):
            await user.send_text(room_id, f"{name} {i}")

    await asyncio.gather(send_many(alice, "alice"), send_many(bob, "bob"))
    await beat(first, second)

    rows = await first.runtime.db.fetch_all(
        "SELECT stream_ordering, event_id, depth, pdu FROM events WHERE room_id = ?"
        " ORDER BY stream_ordering",
        room_id,
    )
    ids = [row[1] for row in rows]
    for before, row in itertools.pairwise(rows):
        assert json.loads(row[3])["prev_events"] == [before[1]]
        assert row[2] == before[2] + 1
    end = await first.runtime.db.fetch_one(
        "SELECT last_event_id, depth FROM rooms WHERE room_id = ?", room_id
    )
    assert end is not None
    assert (end[0], end[1]) == (ids[-1], rows[-1][2])

    texts = [row for row in rows if json.loads(row[3])["type"] == "m.room.message"]
    assert len(texts) == 400
    on_first = [e["event_id"] for e in await all_messages(alice, room_id)]
    on_second = [e["event_id"] for e in await all_messages(bob, room_id)]
    assert on_first == on_second == ids
    timeline_filter = msgspec.json.encode({"room": {"timeline": {"limit": 500}}}).decode()
    for user in (alice, bob):
        body = await user.sync(since, filter=timeline_filter)
        timeline = body["rooms"]["join"][room_id]["timeline"]
        assert [e["event_id"] for e in timeline["events"]] == ids[-400:]
        assert timeline["limited"] is False


async def test_a_sync_is_woken_only_once_it_may_read_the_event(
    pools: Pools,
) -> None:
    """A sync woken for an event above its process's `persisted_upto` would find nothing it may
    read and return to its wait at once, again and again: the long-polls get `EventsPersisted`
    only once the bound has reached its position (app/positions.py, `readable_bus`)."""
    a, b = await pools.join(0), await pools.join(1)
    bus = MemoryBus()
    woken: list[int] = []
    readable_bus(bus, b).subscribe(EventsPersisted, lambda m: woken.append(m.position))
    with a.allocate() as [early]:
        await a.refresh()
        await b.refresh()  # b hears a's promise: below `early`
        with b.allocate() as [late]:
            assert late > early
        bus.publish(EventsPersisted(late, frozenset({"@alice:test.bastion"})))
        assert woken == []  # committed, but `early` (a's) is still in flight below it
    for _ in range(2):  # a follows b's promise, then b hears it
        await a.refresh()
        await b.refresh()
    assert woken == [late]


async def test_a_writer_answers_once_its_own_readers_may_read_what_it_wrote(pools: Pools) -> None:
    """A client that sends and then syncs on the same process sees what it sent: the pipeline
    returns after `wait_readable`, which waits for the peers' promises to pass the position."""
    a, b = await pools.join(0), await pools.join(1)
    await a.refresh()
    await b.refresh()
    with b.allocate() as [position]:
        pass
    waiting = asyncio.create_task(b.wait_readable(position))
    await asyncio.sleep(0)
    assert not waiting.done()  # a's promise, as b knows it, is still below the position
    await b.refresh()
    await a.refresh()  # a follows b's promise
    await b.refresh()  # and b hears it
    await asyncio.wait_for(waiting, 1)
    assert b.persisted_upto() >= position
