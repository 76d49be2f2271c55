"""The bus and the long-poll interfaces. The in-process bus is the only one for now; a Redis
one will carry the same messages between processes when several serve one organisation, and
nothing that publishes or subscribes will change then.

Invariants every `Bus` keeps:
- `publish` never blocks and never raises because of a subscriber: it is called after commit,
  when the change can no longer be undone.
- A subscriber of a message type receives every message of that type published after it
  subscribed, in publication order, from its own process (and, later, from the others).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from bastion.pubsub.messages import CacheInvalidated, Message

M = TypeVar("M", bound=Message)


class Bus(Protocol):
    """Typed publish/subscribe between the writers and the readers of the server."""

    def publish(self, message: Message) -> None:
        """Hand `message` to every subscriber of its type."""
        ...

    def subscribe(self, message_type: type[M], handler: Callable[[M], None]) -> None:
        """Call `handler` with each message of `message_type` from now on (wired once, at start)."""
        ...


class SyncWaits(Protocol):
    """Long-polling /sync requests waiting for something that concerns their user."""

    async def wait(
        self,
        user_id: str,
        after: int,
        timeout_s: float,
        *,
        after_ephemeral: int | None = None,
        after_revocation: int | None = None,
    ) -> bool:
        """Return once something after `after` (or, for ephemeral changes, after
        `after_ephemeral`; for session revocations, after `after_revocation`) concerns
        `user_id`, or the timeout passes.

        Returns True if woken, False on timeout.
        """
        ...

    def revocation_serial(self, user_id: str) -> int:
        """The serial of `user_id`'s latest session revocation (0: none)."""
        ...


def subscribe_cache(bus: Bus, cache: str, drop: Callable[[str], None]) -> None:
    """Have `drop(key)` called for every `CacheInvalidated` of `cache`."""

    def on_invalidated(message: CacheInvalidated) -> None:
        if message.cache == cache:
            drop(message.key)

    bus.subscribe(CacheInvalidated, on_invalidated)
