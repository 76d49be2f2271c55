"""After-commit wake-ups of the push worker.

The event pipeline publishes `EventsPersisted` on the bus after commit with the users a room
event concerns (the room's joined members, and a membership change's target). `PushWakeups`
subscribes to it (app/wiring.py), keeps only users with a pusher (a set lookup in memory) and
wakes the worker; other streams' changes (receipts, account data, ...) carry no `room_id` and
are ignored. Subscribing keeps the pipeline unaware of push delivery, and a wake-up never comes
before the event's commit. The mailbox is built before the pipeline and the worker after it (the
worker reads unread counts through services built later), which is why the two are separate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from bastion.pubsub.messages import EventsPersisted


class PushWakeups:
    """Users whose pushers may have something new to send."""

    def __init__(self) -> None:
        self._users: set[str] | None = None  # users with a pusher; None until loaded
        self._due: set[str] = set()
        self.event = asyncio.Event()

    @property
    def is_loaded(self) -> bool:
        return self._users is not None

    def load(self, users: Iterable[str]) -> None:
        """Start from the users with pushers now: all of them are due (work left from before)."""
        self._users = set(users)
        self._due |= self._users
        self.event.set()

    def poke(self, user_ids: Iterable[str]) -> None:
        """Something committed concerns these users."""
        if self._users is None:
            return  # the load marks every user with a pusher anyway
        wanted = self._users.intersection(user_ids)
        if wanted:
            self._due |= wanted
            self.event.set()

    def on_persisted(self, message: EventsPersisted) -> None:
        """A room event committed: poke the users it concerns."""
        if message.room_id is not None:
            self.poke(message.user_ids)

    def watch(self, user_id: str) -> None:
        """`user_id` has a new pusher."""
        if self._users is not None:
            self._users.add(user_id)
        self._due.add(user_id)
        self.event.set()

    def forget(self, user_id: str) -> None:
        """`user_id` has no pusher left."""
        if self._users is not None:
            self._users.discard(user_id)

    def take(self, busy: Iterable[str]) -> set[str]:
        """The due users not in `busy`, no longer due (the busy ones stay due)."""
        taken = self._due.difference(busy)
        self._due -= taken
        return taken
