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

`allocate(n, above=p)` hands out positions above `p` too: a writer that finds a room's end already
past its position (another process wrote it) asks again above that end, so a room's events take
increasing positions in the order they join its history.

`StreamPositions` is the in-process implementation: it covers one writing process per database.
Several writing processes on one PostgreSQL database use `SharedStreamPositions`
(store/shared_stream.py), behind the same protocol.
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


async def highest_stored_position(q: Queryable) -> int:
    """The highest position any stream table holds (0 for an empty database)."""
    highest = 0
    for table, column in _STREAM_TABLES:
        value = await q.fetch_val(f"SELECT MAX({column}) FROM {table}")  # noqa: S608 - constants
        highest = max(highest, int(value or 0))
    return highest


class PositionAllocator(Protocol):
    """Hands out stream positions and tells readers how far they may safely read."""

    def allocate(self, count: int = 1, *, above: int = 0) -> AbstractContextManager[list[int]]:
        """`count` new positions (each above `above`), in flight until the `with` block ends
        (commit or rollback)."""
        ...

    def persisted_upto(self) -> int:
        """Highest position with nothing at or below it still being written."""
        ...

    def current(self) -> int:
        """Highest position allocated so far (some may still be in flight)."""
        ...

    async def wait_readable(self, position: int) -> None:
        """Return once `persisted_upto() >= position` (or after a bounded wait): a writer
        answers its client then, so the client's next read sees what it wrote."""
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
        return cls(await highest_stored_position(q), on_advance)

    @contextmanager
    def allocate(self, count: int = 1, *, above: int = 0) -> Iterator[list[int]]:
        """`count` new positions, in flight until the `with` block ends (commit or rollback)."""
        start = max(self._last_allocated, above) + 1
        positions = list(range(start, start + count))
        self._last_allocated = start + count - 1
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

    async def wait_readable(self, position: int) -> None:
        """Nothing to wait for: one process, and the position has left flight already."""

    def _announce(self) -> None:
        if self._on_advance is None:
            return
        upto = self.persisted_upto()
        if upto > self._announced:
            self._announced = upto
            self._on_advance(upto)
