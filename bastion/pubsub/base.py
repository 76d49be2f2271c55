"""The notifier interface. The in-process one is the default; a Redis one will carry the same
calls between processes when several serve one organisation."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class Notifier(Protocol):
    """Tells waiting /sync requests of specific users that something for them was persisted."""

    def notify(self, position: int, user_ids: Iterable[str]) -> None:
        """Stream `position` concerns these users; wake their waiting syncs."""
        ...

    def notify_ephemeral(self, serial: int, user_ids: Iterable[str]) -> None:
        """Something not persisted (typing) changed at `serial`; wake these users' syncs."""
        ...

    async def wait(
        self, user_id: str, after: int, timeout_s: float, *, after_ephemeral: int | None = None
    ) -> bool:
        """Return once something after `after` (or, for ephemeral changes, after
        `after_ephemeral`) concerns `user_id`, or the timeout passes.

        Returns True if woken, False on timeout.
        """
        ...
