"""Time as a dependency: services ask a Clock, tests inject a FakeClock and move it by hand.

Waiting is time too: background workers sleep through `Clock.sleep`, so under a FakeClock a
sleeper wakes only when the test advances the clock past its deadline, never by real time.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Source of wall-clock milliseconds and monotonic seconds."""

    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch (for timestamps stored or sent to clients)."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards (for rate limits)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time (background workers between iterations)."""
        ...


class SystemClock:
    """The real clock."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FakeClock:
    """A clock that only moves when a test says so."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._ms = start_ms
        self._mono = 1000.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now_ms(self) -> int:
        return self._ms

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        """Wait until `advance` moves the clock `seconds` on (a zero wait only yields)."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        sleeper = (self._mono + seconds, asyncio.get_running_loop().create_future())
        self._sleepers.append(sleeper)
        try:
            await sleeper[1]
        finally:
            if sleeper in self._sleepers:
                self._sleepers.remove(sleeper)

    @property
    def sleepers(self) -> int:
        """How many `sleep` calls are waiting (tests wait for a worker to reach its sleep)."""
        return len(self._sleepers)

    def advance(self, seconds: float) -> None:
        """Move both clocks forward, waking the sleepers whose deadline has come."""
        self._ms += int(seconds * 1000)
        self._mono += seconds
        due = [s for s in self._sleepers if s[0] <= self._mono]
        for sleeper in due:
            self._sleepers.remove(sleeper)
            if not sleeper[1].done():
                sleeper[1].set_result(None)
