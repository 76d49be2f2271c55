"""Downloads waiting for a reserved media ID to be uploaded (spec: `timeout_ms` of downloads).

A download of a media ID reserved with `POST /create` but not yet filled waits, up to its
timeout, for the `PUT` that fills it; the upload wakes it right after its transaction commits.

Invariants:
- A waiter registers (`watch`) *before* it reads the media row for the last time, so an upload
  that commits between that read and the wait still wakes it: no lost wake-up, no polling.
- An entry exists only while someone waits on it: the upload pops it, and the last waiter to
  leave removes it, so memory follows the number of waiting requests, not of reservations.
- In-process only, like the sync wake-ups: with several processes, a download would have to be
  served by the process that took the upload (or wait out its timeout).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Waiters:
    uploaded: asyncio.Event = field(default_factory=asyncio.Event)
    count: int = 0


class PendingUploads:
    """One wake-up per media ID that downloads are waiting for."""

    def __init__(self) -> None:
        self._waiting: dict[str, _Waiters] = {}

    @contextmanager
    def watch(self, media_id: str) -> Iterator[asyncio.Event]:
        """An event set when `media_id`'s upload commits; read the row again after entering."""
        waiters = self._waiting.get(media_id)
        if waiters is None:
            waiters = self._waiting[media_id] = _Waiters()
        waiters.count += 1
        try:
            yield waiters.uploaded
        finally:
            waiters.count -= 1
            if waiters.count == 0 and self._waiting.get(media_id) is waiters:
                del self._waiting[media_id]

    def uploaded(self, media_id: str) -> None:
        """`media_id`'s upload has committed: wake everyone waiting for it."""
        waiters = self._waiting.pop(media_id, None)
        if waiters is not None:
            waiters.uploaded.set()

    def waiting(self) -> int:
        """How many downloads are waiting (for tests and metrics)."""
        return sum(w.count for w in self._waiting.values())
