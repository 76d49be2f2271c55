"""Which stream allocator a runtime uses, and its wiring to the bus.

One process on its database (SQLite always; PostgreSQL without `[redis] url` and with one
worker): `StreamPositions`, the in-process counter, announcing `PositionAdvanced` when its
bound rises. Several processes on one PostgreSQL database (`[redis] url` set or
`[server] workers` > 1): `SharedStreamPositions` (store/shared_stream.py), which joins the
database's writers, publishes its frontier as `PositionAdvanced(writer=...)`, takes the peers'
frontiers from the bus, and renews its lease in the background until `close_positions`.

With a shared stream, an event committed here or on another process may sit above this
process's `persisted_upto` for a moment (until every writer's promise has passed it). A sync
woken for it then would find nothing it may read, and its wait would return at once again: it
would spin. `readable_bus` hands the long-polls a view of the bus that holds each
`EventsPersisted` until `persisted_upto` has reached its position.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Callable
from typing import Any, cast

from bastion.clock import SystemClock
from bastion.config import Config
from bastion.pubsub.base import Bus, M
from bastion.pubsub.messages import EventsPersisted, Message, PositionAdvanced
from bastion.store.database import Database
from bastion.store.lifeline import Lifeline
from bastion.store.shared_stream import SharedStreamPositions
from bastion.store.stream import MAIN_STREAM, PositionAllocator, StreamPositions

log = logging.getLogger(__name__)


def is_shared(config: Config, dialect: str) -> bool:
    """Whether other processes may write the same database."""
    return dialect == "postgres" and (bool(config.redis.url) or config.server.workers > 1)


async def open_positions(config: Config, db: Database, bus: Bus) -> PositionAllocator:
    """The allocator for this process, wired to `bus`."""
    if not is_shared(config, db.dialect):
        return await StreamPositions.load(
            db, on_advance=lambda upto: bus.publish(PositionAdvanced(MAIN_STREAM, upto))
        )
    lifeline = await Lifeline.open(config.database.url)
    try:
        shared = await SharedStreamPositions.join(
            db, SystemClock(), lifeline,  # leases are real time, whatever clock the tests inject
            on_frontier=lambda writer, frontier: bus.publish(
                PositionAdvanced(MAIN_STREAM, frontier, writer)
            ),
        )  # fmt: skip
    except BaseException:
        await lifeline.close()
        raise
    bus.subscribe(
        PositionAdvanced, lambda message: shared.on_peer_frontier(message.writer, message.position)
    )
    shared.start()
    return shared


def readable_bus(bus: Bus, positions: PositionAllocator) -> Bus:
    """`bus` for the long-polls: with a shared stream, `EventsPersisted` waits until readable."""
    if isinstance(positions, SharedStreamPositions):
        return _ReadableGate(bus, positions)
    return bus


async def close_positions(positions: PositionAllocator) -> None:
    """Leave the writers of a shared stream (nothing to do for the in-process counter)."""
    if isinstance(positions, SharedStreamPositions):
        await positions.close()


class _ReadableGate:
    """A `Bus` delegating to another, except that `EventsPersisted` above `persisted_upto` is
    held, then handed over in position order as the bound passes it."""

    def __init__(self, bus: Bus, positions: SharedStreamPositions) -> None:
        self._bus = bus
        self._positions = positions
        self._held: list[tuple[int, int, Callable[[Any], None], EventsPersisted]] = []
        self._order = itertools.count()
        positions.listen_bound(self._release)

    def publish(self, message: Message) -> None:
        self._bus.publish(message)

    async def publish_confirmed(self, message: Message) -> None:
        await self._bus.publish_confirmed(message)

    def subscribe(self, message_type: type[M], handler: Callable[[M], None]) -> None:
        if message_type is not EventsPersisted:
            self._bus.subscribe(message_type, handler)
            return
        deliver = cast(Callable[[EventsPersisted], None], handler)

        def gated(message: EventsPersisted) -> None:
            if message.position <= self._positions.persisted_upto():
                deliver(message)
            else:
                heapq.heappush(self._held, (message.position, next(self._order), deliver, message))

        self._bus.subscribe(EventsPersisted, gated)

    def _release(self, bound: int) -> None:
        while self._held and self._held[0][0] <= bound:
            _, _, deliver, message = heapq.heappop(self._held)
            try:
                deliver(message)
            except Exception:  # like the bus: one failing subscriber never stops the others
                log.exception("a subscriber failed on %r", message)
