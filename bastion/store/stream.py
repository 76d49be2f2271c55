"""Allocating stream positions so that readers never skip one.

Every persisted change that /sync reports (events, account data, receipts, to-device messages,
device-list changes, presence) takes the next position from one counter. Services depend on the
`PositionAllocator` protocol only; the composition root picks the implementation.

The contract: writers allocate around their transaction (`with allocate(n) as positions:` with
the transaction inside); the positions are in flight until the block ends, commit or rollback.
`persisted_upto` is the highest position below which nothing is still in flight: a reader that
has seen everything up to it can never later discover an earlier position committing behind it,
even when transactions commit out of order (PostgreSQL). Positions are unique and increase;
`persisted_upto() <= current()`, and both never go down.

`StreamPositions` is the in-process implementation: it covers one writing process per database.
Several writing processes need a shared allocator (a PostgreSQL sequence plus `PositionAdvanced`
messages over the bus), which the scale-out work brings behind the same protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from bastion.store.database import Queryable

MAIN_STREAM = "main"  # the name of this one counter in `PositionAdvanced` messages

# Every table whose rows carry a position from this counter.
_STREAM_TABLES = (
    ("events", "stream_ordering"),
    ("account_data", "stream_id"),
    ("device_list_changes", "stream_id"),
    ("to_device_messages", "stream_id"),
    ("stream_high_water", "position"),
    ("receipts", "stream_id"),
    ("presence", "stream_id"),
)


class PositionAllocator(Protocol):
    """Hands out stream positions and tells readers how far they may safely read."""

    def allocate(self, count: int = 1) -> AbstractContextManager[list[int]]:
        """`count` new positions, in flight until the `with` block ends (commit or rollback)."""
        ...

    def persisted_upto(self) -> int:
        """Highest position with nothing at or below it still being written."""
        ...

    def current(self) -> int:
        """Highest position allocated so far (some may still be in flight)."""
        ...


# Called with the new `persisted_upto` whenever it rises (the wiring publishes it on the bus).
AdvanceListener = Callable[[int], None]


class StreamPositions:
    """The single stream counter of this process (a `PositionAllocator`)."""

    def __init__(self, start: int, on_advance: AdvanceListener | None = None) -> None:
        self._last_allocated = start
        self._in_flight: set[int] = set()
        self._on_advance = on_advance
        self._announced = start

    @classmethod
    async def load(cls, q: Queryable, on_advance: AdvanceListener | None = None) -> StreamPositions:
        """Start after the highest position already stored."""
        highest = 0
        for table, column in _STREAM_TABLES:
            value = await q.fetch_val(f"SELECT MAX({column}) FROM {table}")  # noqa: S608 - constants
            highest = max(highest, int(value or 0))
        return cls(highest, on_advance)

    @contextmanager
    def allocate(self, count: int = 1) -> Iterator[list[int]]:
        """`count` new positions, in flight until the `with` block ends (commit or rollback)."""
        positions = list(range(self._last_allocated + 1, self._last_allocated + 1 + count))
        self._last_allocated += count
        self._in_flight.update(positions)
        try:
            yield positions
        finally:
            self._in_flight.difference_update(positions)
            self._announce()

    def persisted_upto(self) -> int:
        """Highest position with nothing at or below it still being written."""
        if not self._in_flight:
            return self._last_allocated
        return min(self._in_flight) - 1

    def current(self) -> int:
        """Highest position allocated so far."""
        return self._last_allocated

    def _announce(self) -> None:
        if self._on_advance is None:
            return
        upto = self.persisted_upto()
        if upto > self._announced:
            self._announced = upto
            self._on_advance(upto)
