"""The messages carried by the bus: frozen, typed, and small enough to cross a process boundary.

A message says what happened, never what to do about it: each subscriber decides (a waiting
/sync wakes, a cache drops an entry, the push worker looks again). Publishers publish only after
the change they describe has committed, so a subscriber that reads the database sees it.

- `EventsPersisted`: rows at a stream position concern some users (a room event, with its
  room; or account data, a receipt, to-device messages, a device-list change, presence). A
  room event's users are the room's joined members plus those it names (`named`); between
  processes, a room with more than `FEW_USERS` of them travels as `RoomEventPersisted` (room ID
  and named users only) and the receiving bus adds the members from its members cache before
  any subscriber sees it, so subscribers always get the full set.
- `EphemeralChanged`: something never stored (typing) changed at a serial of its own.
- `CacheInvalidated`: the data behind one entry (`key`) of one in-process cache (`cache`)
  changed; every process holding that cache drops the entry and reads it again when needed.
- `SessionsRevoked`: access tokens of `user_id` were revoked (a logout, a device deleted, a
  password reset, offboarding); its waiting syncs wake and those whose token is gone answer 401.
- `PositionAdvanced`: on stream `stream`, nothing at or below `position` is still being
  written (the allocator's `persisted_upto`), for readers in other processes. With `writer`
  set, the promise is one writing process's (its frontier, store/shared_stream.py): that
  process will never write at or below `position` again.
- `TypingChanged`: a user started or stopped typing in a room (at a typing serial); every
  process applies it to its own view of who types (services/ephemeral/typing.py).
- `RelationNoted`: a relationship is being recorded in `room_id` at `position` (sent before
  commit on purpose: formatting/changes.py's cache may hear of it early, never late).
- `DeliveryGap`: never published by a writer and never sent between processes: a bus that
  links processes (pubsub/redis.py) delivers it locally while it cannot reach the others and
  when it reaches them again. This process may have missed their messages: whoever keeps state
  fed by messages (wake-ups, caches) must treat everything as possibly changed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EventsPersisted:
    """Stream `position` concerns `user_ids`; `room_id` is set for a room event, and then
    `user_ids` is the room's joined members plus `named` (the users the event names besides
    them: a member event's target, joined or not)."""

    position: int
    user_ids: frozenset[str]
    room_id: str | None = None
    named: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class RoomEventPersisted:
    """`EventsPersisted` of a room event as it crosses to other processes when the room has
    more than `FEW_USERS` members: the receiver adds the joined members of `room_id` from its
    members cache to `named` (pubsub/redis.py). Never delivered to a subscriber."""

    position: int
    room_id: str
    named: frozenset[str] = frozenset()


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
    """Some or all sessions of `user_id` were revoked (their devices deleted)."""

    user_id: str


@dataclass(frozen=True, slots=True)
class PositionAdvanced:
    """Nothing at or below `position` on stream `stream` is still being written (by writer
    `writer` alone when it is not 0)."""

    stream: str
    position: int
    writer: int = 0


@dataclass(frozen=True, slots=True)
class TypingChanged:
    """`user_id` types in `room_id` for `timeout_ms` more (0: stopped), as of typing `serial`."""

    serial: int
    room_id: str
    user_id: str
    timeout_ms: int


@dataclass(frozen=True, slots=True)
class RelationNoted:
    """A relationship is being recorded in `room_id` at stream `position`."""

    room_id: str
    position: int


@dataclass(frozen=True, slots=True)
class DeliveryGap:
    """Messages from other processes may have been missed (local only, see above)."""

    reason: str


Message = (
    EventsPersisted
    | EphemeralChanged
    | CacheInvalidated
    | SessionsRevoked
    | PositionAdvanced
    | TypingChanged
    | RelationNoted
    | DeliveryGap
)

# What crosses between processes: the messages, a big room's events in their short form.
WireMessage = Message | RoomEventPersisted
# Up to this many users, a room event's users cross as they are (a lookup saved); beyond, the
# room ID alone (20,000 user IDs would be ~500 KB per message).
FEW_USERS = 32

# What a bus between processes carries, by name on the wire (DeliveryGap stays local).
SHARED_MESSAGES: dict[str, type[WireMessage]] = {
    kind.__name__: kind
    for kind in (
        EventsPersisted,
        RoomEventPersisted,
        EphemeralChanged,
        CacheInvalidated,
        SessionsRevoked,
        PositionAdvanced,
        TypingChanged,
        RelationNoted,
    )
}


def on_the_wire(message: Message) -> WireMessage:
    """The form in which `message` crosses to other processes: a room event concerning more
    than `FEW_USERS` users as its room ID (and named users) only."""
    if (
        isinstance(message, EventsPersisted)
        and message.room_id is not None
        and len(message.user_ids) > FEW_USERS
    ):
        return RoomEventPersisted(message.position, message.room_id, message.named)
    return message
