"""Allocating stream positions so that readers never skip one.

Every persisted change that /sync reports (events, account data, later receipts and to-device
messages) takes the next position from one counter. Writers allocate inside their transaction and
call `finish` after it commits or rolls back. `persisted_upto` is the highest position below which
nothing is still in flight: a reader that has seen everything up to it can never later discover
an earlier position committing behind it, even when transactions commit out of order (PostgreSQL).

Invariant: positions are unique per process and increase; this covers one writing process per
database. Several writing processes need a shared allocator (a PostgreSQL sequence plus a
persisted-upto exchange over Redis), which the scale-out work brings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bastion.store.database import Queryable

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


class StreamPositions:
    """The single stream counter of this process."""

    def __init__(self, start: int) -> None:
        self._last_allocated = start
        self._in_flight: set[int] = set()

    @classmethod
    async def load(cls, q: Queryable) -> StreamPositions:
        """Start after the highest position already stored."""
        highest = 0
        for table, column in _STREAM_TABLES:
            value = await q.fetch_val(f"SELECT MAX({column}) FROM {table}")  # noqa: S608 - constants
            highest = max(highest, int(value or 0))
        return cls(highest)

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

    def persisted_upto(self) -> int:
        """Highest position with nothing at or below it still being written."""
        if not self._in_flight:
            return self._last_allocated
        return min(self._in_flight) - 1
