"""A room's effective retention policy: THE function that both hides and purges.

MSC1763: a room's `m.room.retention` state event sets `max_lifetime` (milliseconds); an event
whose `origin_server_ts` is more than `max_lifetime` ago has expired. State events never expire
(they are the room). The organisation policy (`retention` section) gives the default for rooms
without one (`default_max_lifetime_ms`, null = keep forever) and the allowed range a room's
value is clamped to (`allowed_min_lifetime_ms`, `allowed_max_lifetime_ms`).

`effective_max_lifetime` is pure; `RoomRetention` feeds it and answers `expired_before(room)`:
the read door (services/visibility.py) hides non-state events older than that cutoff, and the
purge (purge.py) deletes exactly those, so a client never sees an event the purge would delete,
even before it runs. Held events are hidden too: a legal hold preserves, it does not publish.

Cost: the rooms' `m.room.retention` values are read once into memory (one query for all rooms)
and reloaded after one changes (`RetentionStateWatcher`, an event hook, and the bus for other
processes); the policy document is PolicyService's cached copy. So a read costs no query.
"""

from __future__ import annotations

import json

from typing_extensions import override

from bastion.clock import Clock
from bastion.events.model import StoredEvent
from bastion.pubsub.base import Bus
from bastion.pubsub.messages import CacheInvalidated
from bastion.services.event_hooks import CommittedEvent, EventHook
from bastion.services.policy.document import RetentionPolicy
from bastion.services.policy.service import PolicyService
from bastion.store.database import Database
from bastion.store.protocols.compliance import RetentionStore

RETENTION_TYPE = "m.room.retention"
RETENTION_CACHE = "room_retention"


def effective_max_lifetime(policy: RetentionPolicy, room_max_lifetime: int | None) -> int | None:
    """The lifetime (ms) that applies to a room's events; None: kept forever.

    The room's own `max_lifetime` wins over the default, clamped to the allowed range."""
    lifetime = (
        room_max_lifetime if room_max_lifetime is not None else policy.default_max_lifetime_ms
    )
    if lifetime is None:
        return None
    if policy.allowed_min_lifetime_ms is not None:
        lifetime = max(lifetime, policy.allowed_min_lifetime_ms)
    if policy.allowed_max_lifetime_ms is not None:
        lifetime = min(lifetime, policy.allowed_max_lifetime_ms)
    return lifetime


def max_lifetime_of(content: object) -> int | None:
    """`max_lifetime` of an `m.room.retention` content: a positive integer, else None."""
    if not isinstance(content, dict):
        return None
    value = content.get("max_lifetime")
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


class RoomRetention:
    """Each room's effective lifetime, from its state (cached) and the policy (cached)."""

    def __init__(
        self, db: Database, store: RetentionStore, policy: PolicyService, clock: Clock
    ) -> None:
        self._db, self._store, self._policy, self._clock = db, store, policy, clock
        self._rooms: dict[str, int] | None = None
        self._generation = 0

    def invalidate(self, _key: str = "") -> None:
        """Drop the rooms' values (one changed, here or in another process)."""
        self._generation += 1
        self._rooms = None

    async def room_lifetimes(self) -> dict[str, int]:
        """`max_lifetime` of every room that sets one (before clamping)."""
        rooms = self._rooms
        if rooms is not None:
            return rooms
        generation = self._generation
        loaded: dict[str, int] = {}
        for room_id, pdu in await self._store.retention_states(self._db):
            lifetime = max_lifetime_of(json.loads(pdu).get("content"))
            if lifetime is not None:
                loaded[room_id] = lifetime
        if generation == self._generation:  # no change committed while loading
            self._rooms = loaded
        return loaded

    async def policy(self) -> RetentionPolicy:
        return (await self._policy.current()).retention

    async def lifetime(self, room_id: str) -> int | None:
        """The room's effective lifetime (ms); None: its events are kept forever."""
        policy = await self.policy()
        if policy.default_max_lifetime_ms is None and not await self.room_lifetimes():
            return None
        return effective_max_lifetime(policy, (await self.room_lifetimes()).get(room_id))

    async def expired_before(self, room_id: str) -> int | None:
        """Non-state events of the room sent before this time (ms) have expired; None: none."""
        lifetime = await self.lifetime(room_id)
        return None if lifetime is None else self._clock.now_ms() - lifetime


def is_expired(event: StoredEvent, cutoff: int | None) -> bool:
    """Whether `event` has expired under `cutoff` (from `expired_before`)."""
    return cutoff is not None and not event.is_state and event.origin_server_ts < cutoff


class RetentionStateWatcher(EventHook):
    """Reloads rooms' retention values once an `m.room.retention` change commits."""

    def __init__(self, retention: RoomRetention, bus: Bus) -> None:
        self._retention, self._bus = retention, bus

    @override
    async def committed(self, committed: CommittedEvent) -> None:
        event = committed.event
        if event.type == RETENTION_TYPE and event.state_key == "":
            self._retention.invalidate()
            self._bus.publish(CacheInvalidated(RETENTION_CACHE, event.room_id))
