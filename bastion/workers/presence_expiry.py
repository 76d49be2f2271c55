"""The presence expiry worker: applies presence timeouts every `presence.expiry_interval_seconds`.

The sweep itself (`services/presence/expiry.py`) is one indexed query plus a pass over memory;
this worker only says when. It sweeps once at start (rows left due by a previous run), then once
per interval on the injected clock. A failing sweep is logged and retried by the supervisor.
The serving app registers it only when `presence.enabled`. Across processes one process sweeps,
the one holding the worker's lease for its life (leased.py `Leased`): one sweep per interval
server-wide, and another process takes over within the lease retry when it dies.
"""

from __future__ import annotations

from typing import Protocol

from bastion.clock import Clock


class Expires(Protocol):
    """What the worker drives: `PresenceService.expire`."""

    async def expire(self, now_ms: int) -> int: ...


class PresenceExpiryWorker:
    """Calls `expire(now)` (PresenceService) once per interval."""

    name = "presence expiry"

    def __init__(self, presence: Expires, clock: Clock, *, interval_s: float) -> None:
        self._presence = presence
        self._clock = clock
        self._interval_s = interval_s
        self.changed = 0  # visible changes made so far (tests, logs)

    async def run_once(self) -> None:
        self.changed += await self._presence.expire(self._clock.now_ms())

    async def wait_next(self) -> None:
        await self._clock.sleep(self._interval_s)

    async def close(self) -> None:
        return None
