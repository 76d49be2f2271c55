"""One fact per user, read from their account data and kept in memory: who they ignore
(ignored_users.py), whether they block invites (invite_permission.py). The read door asks these
for every batch it filters, so they must cost no query once loaded.

Bounded: past `max_users` the least recently used user is dropped. Dropped through the bus:
after a change commits, `AccountDataService` publishes `CacheInvalidated(data_type, user_id)`,
and app/wiring.py subscribes `invalidate` and `clear`. A read that overlapped an invalidation
must not store what it read (it may be the old value): take a `stamp()` before reading and pass
it to `keep`, which keeps the value only if nothing was invalidated since.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

T = TypeVar("T")


class PerUserCache(Generic[T]):
    """A least-recently-used map of user ID to `T`, with invalidation stamps."""

    def __init__(self, max_users: int) -> None:
        self._max_users = max_users
        self._values: OrderedDict[str, T] = OrderedDict()
        self._changes = 0  # bumped by every invalidation

    def get(self, user_id: str) -> T | None:
        value = self._values.get(user_id)
        if value is not None:
            self._values.move_to_end(user_id)
        return value

    def stamp(self) -> int:
        """Taken before a read whose result is to be kept."""
        return self._changes

    def keep(self, stamp: int, user_id: str, value: T) -> None:
        """Store `value` unless an invalidation came since `stamp`."""
        if stamp != self._changes:
            return
        self._values[user_id] = value
        self._values.move_to_end(user_id)
        while len(self._values) > self._max_users:
            self._values.popitem(last=False)

    def invalidate(self, user_id: str) -> None:
        """The user's data changed and committed: read it again when next needed."""
        self._changes += 1
        self._values.pop(user_id, None)

    def clear(self) -> None:
        """Anyone's may have changed (invalidations from other processes were missed)."""
        self._changes += 1
        self._values.clear()
