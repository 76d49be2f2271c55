"""Stream positions shared by several Bastion processes writing one PostgreSQL database.

`SharedStreamPositions` is a `PositionAllocator` (store/stream.py) for N writing processes.
`allocate` stays synchronous and costs no round trip: each live writer owns a *slot* (0..31,
unique among live writers, table `stream_writers`, migration 0027) and takes the positions
congruent to its slot modulo `SLOTS`, each above everything it has seen. Positions are unique
because live slots are; they increase per writer; numbers are skipped (gaps are allowed).

The reader's bound. Each writer P keeps its *frontier* F(P):
    F(P) = min(in flight) - 1            when P has positions in flight,
    F(P) = max(last allocated, seen)     when it has none,
and allocates only above max(last allocated, seen). So P never writes at or below F(P) again:
F(P) is a promise, it only rises, and an idle writer's rises with what it sees of the others
(`seen`), so an idle process never holds the others back. P publishes F(P) in its row (every
heartbeat) and on the bus (`PositionAdvanced(writer=P)`, at once). Its readers use
    persisted_upto = max(previous, min(F(P), F(Q) for each live peer Q in P's view)),
where a peer's F is the last value P read or was told: a stale value is lower, so only safer.
Nothing in flight anywhere can be at or below that minimum, whatever the commit order, since
every writer's in-flight positions are above its own promise.

Races. (1) Allocation vs reading: allocation is local and synchronous; a peer only ever sees
promises already true. (2) Commit vs reading: a position leaves `in flight` only after its
transaction has ended, so F passes it only once it is committed or rolled back. (3) A writer
joining: before it allocates anything, every live peer must have *acknowledged* it (written
`seen_writer` >= its id after reading a view that contains it, together with `exposed`, the
highest persisted_upto it had handed out); the newcomer then starts above every `exposed`.
A peer that has not acknowledged may have handed out any bound, but the newcomer has nothing
in flight yet; after acknowledging, the peer's bound stays under the newcomer's promise (the
`max(previous, ...)` keeps it from going down, and the newcomer starts above `previous`).
(4) A writer dying (kill -9, its host gone): PostgreSQL rolls its open transactions back and
ends its sessions, among them its *life line* (store/lifeline.py: an advisory lock on a
connection of its own). Peers leave a writer out once two of their views in a row (a heartbeat
apart) found its life line gone, so a COMMIT it sent just before dying has long been applied;
the others stall about two heartbeats. (5) A writer alive but cut off or hung: its row stays
until its lease (`lease_ms`, renewed every `interval_s`) plus `GRACE_MS` has passed, then peers
leave it out; it refuses to allocate once its own lease has passed, or once its life line or its
row is gone (a joining writer deletes rows whose lease has long passed), and freezes its bound.
A transaction still running when its writer has been left out could commit behind the others'
bound: transactions must stay far shorter than a heartbeat's worth of seconds and the lease.

Writing then reading. A writer's own readers see its position only once the peers' promises
have passed it (an idle peer follows at once on the bus: two hops), so `wait_readable` lets the
pipeline answer its client only then (at most one heartbeat interval).

Costs: `allocate` and `persisted_upto` are in-memory; each writer runs three statements per
heartbeat (its life line, the rows, its row); a newcomer announces itself on the bus, so the
peers acknowledge it at once (else within a heartbeat). Leases run on the real clock (the
wiring passes `SystemClock`), whatever clock the rest of the server is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.store.database import Database, Row
from bastion.store.lifeline import ATTACHED_SQL, Lifeline
from bastion.store.stream import highest_stored_position

log = logging.getLogger(__name__)

SLOTS = 32  # most writing processes on one database at once
GRACE_MS = 5_000  # clock skew between hosts tolerated before a writer counts as gone

# Called with (writer id, frontier) whenever this writer's promise rises (the wiring publishes
# it on the bus as `PositionAdvanced(writer=...)`).
FrontierListener = Callable[[int, int], None]
# Called with the new `persisted_upto` whenever it rises (the wiring releases held wake-ups).
BoundListener = Callable[[int], None]


@dataclass(slots=True)
class _Peer:
    frontier: int
    lease_until_ms: int
    seen_writer: int = 0
    exposed: int = 0
    detached_views: int = 0  # consecutive views that found its life line gone

    def is_live(self, now_ms: int) -> bool:
        return now_ms < self.lease_until_ms + GRACE_MS and self.detached_views < 2


_ROWS_SQL = (
    "SELECT writer_id, frontier, lease_until_ms, seen_writer, exposed,"  # noqa: S608 - constants
    f" {ATTACHED_SQL} FROM stream_writers"
)


@dataclass(frozen=True, slots=True)
class WriterTiming:
    """How long a writer's lease lasts and how often it renews it and reads its peers."""

    lease_ms: int = 30_000
    interval_s: float = 1.0


class SharedStreamPositions:
    """This process's share of the stream counter (a `PositionAllocator`)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        lifeline: Lifeline,
        *,
        writer_id: int,
        slot: int,
        start: int,
        timing: WriterTiming,
    ) -> None:
        self._db = db
        self._clock = clock
        self._lifeline = lifeline
        self.writer_id = writer_id
        self._slot = slot
        self._timing = timing
        self._last = start
        self._seen = start
        self._in_flight: set[int] = set()
        self._peers: dict[int, _Peer] = {}
        self._viewed_upto = writer_id  # the highest writer id in a view already taken in
        self._exposed = start
        self._lease_until_ms = clock.now_ms() + timing.lease_ms
        self._fenced = False
        self._announced = start
        self._on_frontier: FrontierListener | None = None
        self._on_bound: BoundListener | None = None
        self._bound_announced = start
        self._task: asyncio.Task[None] | None = None
        self._beating = asyncio.Lock()  # one heartbeat at a time (the life line's connection)
        self._newcomer = asyncio.Event()  # a writer we do not know yet spoke: beat at once
        self._readers: list[tuple[int, int, asyncio.Future[None]]] = []  # wait_readable
        self._order = itertools.count()

    @classmethod
    async def join(
        cls,
        db: Database,
        clock: Clock,
        lifeline: Lifeline,
        timing: WriterTiming | None = None,
        *,
        on_frontier: FrontierListener | None = None,
    ) -> SharedStreamPositions:
        """Register as a writer (with `lifeline` held) and wait until every live peer has
        acknowledged us; `on_frontier` (see `listen`) hears from us from the start."""
        timing = timing or WriterTiming()
        now = clock.now_ms()
        async with db.transaction() as t:
            await t.execute("LOCK TABLE stream_writers IN SHARE ROW EXCLUSIVE MODE")
            await t.execute("DELETE FROM stream_writers WHERE lease_until_ms < ?", now - GRACE_MS)
            rows = await t.fetch_all(
                "SELECT slot, frontier, exposed, writer_id FROM stream_writers"
            )
            taken = {int(row[0]) for row in rows}
            free = [slot for slot in range(SLOTS) if slot not in taken]
            if not free:
                raise RuntimeError(f"{SLOTS} Bastion processes already write this database")
            stored = await highest_stored_position(t)
            start = max([stored, *(max(int(r[1]), int(r[2])) for r in rows)])
            writer_id = int(await t.fetch_val("SELECT nextval('stream_writer_ids')"))
            await t.execute(
                "INSERT INTO stream_writers (writer_id, slot, frontier, exposed, seen_writer,"
                " lease_until_ms, lifeline_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
                writer_id, free[0], start, start, writer_id, now + timing.lease_ms, lifeline.key,
            )  # fmt: skip
        self = cls(
            db, clock, lifeline, writer_id=writer_id, slot=free[0], start=start, timing=timing
        )
        # The first view is the rows read under the lock; the first bound, their lowest promise
        # (`stored` only when no peer is left: nobody else can have a position in flight).
        self._peers = {int(r[3]): _Peer(int(r[1]), now + timing.lease_ms) for r in rows}
        self._lease_until_ms = now + timing.lease_ms  # what the peers read in our row
        self._exposed = min(int(r[1]) for r in rows) if rows else stored
        self._bound_announced = self._exposed
        self._on_frontier = on_frontier
        await self._await_acknowledgements()
        return self

    def listen(self, on_frontier: FrontierListener) -> None:
        """Tell `on_frontier` each time this writer's promise rises."""
        self._on_frontier = on_frontier

    def listen_bound(self, on_bound: BoundListener) -> None:
        """Tell `on_bound` each time `persisted_upto` rises (checked whenever a promise moves)."""
        self._on_bound = on_bound

    def on_peer_frontier(self, writer: int, frontier: int) -> None:
        """A peer's promise, from the bus: raises what we know of it and what we have seen."""
        if writer in (0, self.writer_id):
            return
        peer = self._peers.get(writer)
        if peer is None:
            self._newcomer.set()  # a joining writer waits for our acknowledgement
        elif frontier > peer.frontier:
            peer.frontier = frontier
        self._seen = max(self._seen, frontier)
        self._announce()

    @contextmanager
    def allocate(self, count: int = 1, *, above: int = 0) -> Iterator[list[int]]:
        """`count` positions of our slot, above everything we have seen and `above`."""
        if self._fenced or self._clock.now_ms() >= self._lease_until_ms:
            raise MatrixError(503, Errcode.UNKNOWN, "this server lost its database lease")
        base = max(self._last, self._seen, above)
        first = base + 1 + (self._slot - (base + 1)) % SLOTS
        positions = [first + i * SLOTS for i in range(count)]
        if positions:
            self._last = positions[-1]
        self._in_flight.update(positions)
        try:
            yield positions
        finally:
            self._in_flight.difference_update(positions)
            self._announce()

    def frontier(self) -> int:
        """This writer's promise: it never writes at or below it again."""
        if self._in_flight:
            return min(self._in_flight) - 1
        return max(self._last, self._seen)

    def persisted_upto(self) -> int:
        """The lowest promise of the live writers (never lower than a bound handed out)."""
        now = self._clock.now_ms()
        if self._fenced or now >= self._lease_until_ms:
            return self._exposed  # cut off: the peers' view may be stale, hand out nothing new
        bound = self.frontier()
        for peer in self._peers.values():
            if peer.is_live(now):
                bound = min(bound, peer.frontier)
        self._exposed = max(self._exposed, bound)
        return self._exposed

    def current(self) -> int:
        """Highest position this writer has allocated or seen."""
        return max(self._last, self._seen)

    async def wait_readable(self, position: int) -> None:
        """Until our bound has passed `position` (the peers' promises have caught up: two bus
        hops), at most one heartbeat interval."""
        if self.persisted_upto() >= position:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._readers, (position, next(self._order), future))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(future), self._timing.interval_s)

    async def refresh(self) -> None:
        """One heartbeat: read every writer's row, then renew our lease and publish our promise,
        our bound and the newest writer in the view just taken in (see the acknowledgement)."""
        async with self._beating:
            await self._beat()

    async def _beat(self) -> None:
        if not await self._lifeline.is_held():
            self._fenced = True
            return
        rows = await self._db.fetch_all(_ROWS_SQL)
        self._take_view(rows)
        now = self._clock.now_ms()
        live = [p.frontier for p in self._peers.values() if p.is_live(now)]
        self._seen = max([self._seen, *live])
        renewed = await self._db.execute(
            "UPDATE stream_writers SET frontier = ?, exposed = ?, seen_writer = ?,"
            " lease_until_ms = ? WHERE writer_id = ?",
            self.frontier(), self.persisted_upto(), self._viewed_upto,
            now + self._timing.lease_ms, self.writer_id,
        )  # fmt: skip
        if renewed != 1:
            self._fenced = True
            log.error("stream writer %d lost its row: it allocates nothing more", self.writer_id)
            return
        self._lease_until_ms = now + self._timing.lease_ms
        self._announce()

    def _take_view(self, rows: list[Row]) -> None:
        peers: dict[int, _Peer] = {}
        for r in rows:
            writer = int(r[0])
            if writer == self.writer_id:
                continue
            peer = _Peer(int(r[1]), int(r[2]), int(r[3]), int(r[4]))
            known = self._peers.get(writer)
            if known is not None:  # a bus message may have told us more than the row says
                peer.frontier = max(peer.frontier, known.frontier)
            if not r[5]:
                peer.detached_views = (known.detached_views if known is not None else 0) + 1
            peers[writer] = peer
        self._peers = peers
        self._viewed_upto = max([self._viewed_upto, *peers])

    def start(self) -> None:
        """Run the heartbeat in the background until `close`."""
        self._task = asyncio.create_task(self._run(), name=f"stream-writer-{self.writer_id}")

    async def close(self) -> None:
        """Stop the heartbeat; give up our row when nothing is in flight (else let it expire)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if not self._in_flight and not self._fenced:
            await self._db.execute("DELETE FROM stream_writers WHERE writer_id = ?", self.writer_id)
        self._fenced = True
        await self._lifeline.close()

    async def _run(self) -> None:
        while True:
            sleep = asyncio.ensure_future(self._clock.sleep(self._timing.interval_s))
            newcomer = asyncio.ensure_future(self._newcomer.wait())
            await asyncio.wait({sleep, newcomer}, return_when=asyncio.FIRST_COMPLETED)
            sleep.cancel()
            newcomer.cancel()
            self._newcomer.clear()
            try:
                await self.refresh()
            except Exception:  # the database is away: the lease runs out, then we stop
                log.exception("stream writer %d could not renew its lease", self.writer_id)

    async def _await_acknowledgements(self) -> None:
        """Wait until every live peer has read a view containing us; start above their bounds."""
        while True:
            await self.refresh()
            if self._fenced:
                raise RuntimeError("the stream writer lost its life line while joining")
            now = self._clock.now_ms()
            live = [peer for peer in self._peers.values() if peer.is_live(now)]
            if all(peer.seen_writer >= self.writer_id for peer in live):
                self._seen = max([self._seen, *(peer.exposed for peer in live)])
                return
            if self._on_frontier is not None:  # tell the peers on the bus that we are here
                self._on_frontier(self.writer_id, self.frontier())
            await self._clock.sleep(self._timing.interval_s / 10)

    def _announce(self) -> None:
        promise = self.frontier()
        if promise > self._announced:
            self._announced = promise
            if self._on_frontier is not None:
                self._on_frontier(self.writer_id, promise)
        bound = self.persisted_upto()
        while self._readers and self._readers[0][0] <= bound:
            _, _, future = heapq.heappop(self._readers)
            if not future.done():
                future.set_result(None)
        if self._on_bound is not None and bound > self._bound_announced:
            self._bound_announced = bound
            self._on_bound(bound)
