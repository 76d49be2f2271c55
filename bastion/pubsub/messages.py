"""The messages carried by the bus: frozen, typed, and small enough to cross a process boundary.

A message says what happened, never what to do about it: each subscriber decides (a waiting
/sync wakes, a cache drops an entry, the push worker looks again). Publishers publish only after
the change they describe has committed, so a subscriber that reads the database sees it.

- `EventsPersisted`: rows at a stream position concern some users (a room event, with its
  room; or account data, a receipt, to-device messages, a device-list change, presence).
- `EphemeralChanged`: something never stored (typing) changed at a serial of its own.
- `CacheInvalidated`: the data behind one entry (`key`) of one in-process cache (`cache`)
  changed; every process holding that cache drops the entry and reads it again when needed.
- `SessionsRevoked`: every access token of `user_id` was revoked (offboarding); its waiting
  syncs wake and find their token gone.
- `PositionAdvanced`: on stream `stream`, nothing at or below `position` is still being
  written (the allocator's `persisted_upto`), for readers in other processes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EventsPersisted:
    """Stream `position` concerns `user_ids`; `room_id` is set for a room event."""

    position: int
    user_ids: frozenset[str]
    room_id: str | None = None


@dataclass(frozen=True, slots=True)
class EphemeralChanged:
    """Something not persisted (typing) changed at `serial`; it concerns `user_ids`."""

    serial: int
    user_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class CacheInvalidated:
    """Entry `key` of cache `cache` is stale (its data changed and committed)."""

    cache: str
    key: str


@dataclass(frozen=True, slots=True)
class SessionsRevoked:
    """Every session of `user_id` was revoked (its account deactivated)."""

    user_id: str


@dataclass(frozen=True, slots=True)
class PositionAdvanced:
    """Nothing at or below `position` on stream `stream` is still being written."""

    stream: str
    position: int


Message = EventsPersisted | EphemeralChanged | CacheInvalidated | SessionsRevoked | PositionAdvanced
