"""Per-key asyncio locks, kept only while someone holds or waits for one.

Several services serialise work per user or per room inside this process: sends into one room
(the pipeline), a user's tags, a user's server notices room, a user's offboarding, the member
events a profile change rewrites. A plain dict of locks would keep one for every key ever
seen; here a key's lock lives in a `WeakValueDictionary`, so it goes once no task holds it or
waits on it (each of those references it), and while any does, every caller gets that same
lock. Between processes these locks are not enough: `Database.exclusive` is the lock there.
"""

from __future__ import annotations

import asyncio
import weakref


class KeyedLocks:
    """`lock(key)`: the one lock of `key` while anyone uses it (`async with locks.lock(key):`)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def lock(self, key: str) -> asyncio.Lock:
        found = self._locks.get(key)
        if found is None:
            found = self._locks[key] = asyncio.Lock()
        return found

    def __len__(self) -> int:
        """How many keys have a lock in use (for tests: an unused lock is gone)."""
        return len(self._locks)
