"""The bus and the long-poll interfaces. The in-process bus (memory.py) serves one process;
the Redis one (redis.py) carries the same messages between the processes that serve one
organisation, and nothing that publishes or subscribes changes with it.

Invariants every `Bus` keeps:
- `publish` never blocks and never raises because of a subscriber: it is called after commit,
  when the change can no longer be undone. Its own process's subscribers get the message
  before `publish` returns.
- A subscriber of a message type receives every message of that type published after it
  subscribed, in publication order per publisher, from its own process and from the others
  (exactly once each); while the others cannot be reached it receives `DeliveryGap` instead,
  and once more when they can again.
- `publish_confirmed` returns once the message has reached every process that can be reached
  (at once on a bus within one process); it never raises either. Revocations use it, so that a
  revoked session's parked syncs on other processes are woken before the revoking request
  returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from bastion.pubsub.messages import CacheInvalidated, DeliveryGap, Message

M = TypeVar("M", bound=Message)


class Bus(Protocol):
    """Typed publish/subscribe between the writers and the readers of the server."""

    def publish(self, message: Message) -> None:
        """Hand `message` to every subscriber of its type."""
        ...

    async def publish_confirmed(self, message: Message) -> None:
        """`publish`, then wait until the other processes have been handed `message`."""
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
        room_id: str | None = None,
    ) -> bool:
        """Return once something after `after` (or, for ephemeral changes, after
        `after_ephemeral`; for session revocations, after `after_revocation`) concerns
        `user_id`, or, given `room_id`, an event of that room after `after` was persisted
        (someone peeking into a room they are not in), or the timeout passes.

        Returns True if woken, False on timeout.
        """
        ...

    def revocation_serial(self, user_id: str) -> int:
        """The serial of `user_id`'s latest session revocation (0: none)."""
        ...

    def revocations_total(self) -> int:
        """How many revocations (of any user) and delivery gaps this process has heard of: a
        caller that reads it before checking a token, and finds it unchanged later, knows no
        revocation heard since could have ended that token."""
        ...


def subscribe_cache(
    bus: Bus,
    cache: str,
    drop: Callable[[str], None],
    drop_all: Callable[[], None] | None = None,
) -> None:
    """Have `drop(key)` called for every `CacheInvalidated` of `cache`, and `drop_all()` on a
    `DeliveryGap` (invalidations from other processes may have been missed). A cache that holds
    one entry only may leave `drop_all` out: `drop("")` is called instead."""

    def on_invalidated(message: CacheInvalidated) -> None:
        if message.cache == cache:
            drop(message.key)

    def on_gap(_message: DeliveryGap) -> None:
        if drop_all is not None:
            drop_all()
        else:
            drop("")

    bus.subscribe(CacheInvalidated, on_invalidated)
    bus.subscribe(DeliveryGap, on_gap)
