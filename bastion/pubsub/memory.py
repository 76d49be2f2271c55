"""The in-process bus: messages go to the subscribers of their type, synchronously, in order.

Subscribers are wired once at start (app/wiring.py). A subscriber that raises is logged and the
others still receive the message: a publisher runs after commit and must not fail because a
reader did.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bastion.pubsub.base import M
from bastion.pubsub.messages import Message

_log = logging.getLogger(__name__)


class MemoryBus:
    """A `Bus` within one process."""

    def __init__(self) -> None:
        self._handlers: dict[type[Any], list[Callable[[Any], None]]] = {}

    def publish(self, message: Message) -> None:
        for handler in self._handlers.get(type(message), ()):
            try:
                handler(message)
            except Exception:
                _log.exception("bus subscriber %r failed on %r", handler, message)

    async def publish_confirmed(self, message: Message) -> None:
        """Within one process every subscriber has it once `publish` returns."""
        self.publish(message)

    def subscribe(self, message_type: type[M], handler: Callable[[M], None]) -> None:
        self._handlers.setdefault(message_type, []).append(handler)
