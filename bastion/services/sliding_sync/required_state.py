"""`required_state` selectors (MSC4186 "RequiredStateRequest"): which state of a room a combined
`RoomConfig` asks for, resolved for one requester. Pure: no I/O.

A selector is `(type, state_key)`. `"*"` as the type matches every type, as the key every key;
the key `"$ME"` is the requester, `"$LAZY"` (with `m.room.member`) the members of the returned
timeline (lazy loading: the caller tracks who was sent). Unknown types simply match nothing.
Combining configs is the union of their selectors (spec: "Combining room configs"), so a config
that returns every member makes lazy loading moot.

`read_plan` turns a selector set into the one read the read door answers: a list of types to
read whole (None: every type, the wildcard) and the member keys to read one by one. A type
wildcard reads the whole state of the room: that is what was asked for, and the only way to
answer it; a member wildcard (`m.room.member`, `*`) reads every member, likewise. Nothing else
reads a room's member list: lazy and explicit members are read by key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from bastion.events.model import StoredEvent
from bastion.events.types import EventType
from bastion.services.sliding_sync.room_model import StateSelector

WILDCARD = "*"
LAZY = "$LAZY"
ME = "$ME"
MEMBER = EventType.MEMBER.value
# Read with every room whatever the selectors: the result's `name` and `avatar` come from them.
ROOM_FIELDS = (EventType.NAME.value, EventType.AVATAR.value)


@dataclass(frozen=True, slots=True)
class Wanted:
    """A selector set resolved for one requester."""

    every_type_keys: frozenset[str]  # ("*", key): these keys of every type ("*": everything)
    whole_types: frozenset[str]  # (type, "*"): every key of these types
    keys: frozenset[tuple[str, str]]  # exact (type, state_key)
    lazy: bool  # ("m.room.member", "$LAZY")
    excluded: frozenset[tuple[str, str]] = frozenset()  # `exclude`, "*" a wildcard as above

    @property
    def everything(self) -> bool:
        """A `("*", "*")` selector: the whole state."""
        return WILDCARD in self.every_type_keys

    @property
    def every_member(self) -> bool:
        """Every member event is wanted (lazy loading then has nothing left to do): not when an
        exclusion may leave some out (lazy members are not excluded)."""
        if self.excluded and any(t in (WILDCARD, MEMBER) for t, _ in self.excluded):
            return False
        return self.everything or MEMBER in self.whole_types

    @property
    def is_lazy(self) -> bool:
        """Lazy loading applies: asked for, and no selector returns every member."""
        return self.lazy and not self.every_member

    def matches(self, event_type: str, state_key: str) -> bool:
        """Does a state entry match a selector and no exclusion (lazy members aside)?"""
        if self.excluded and _excluded(self.excluded, event_type, state_key):
            return False
        return (
            state_key in self.every_type_keys
            or WILDCARD in self.every_type_keys
            or event_type in self.whole_types
            or (event_type, state_key) in self.keys
        )

    def matches_event(self, event: StoredEvent) -> bool:
        """`matches` for a state event."""
        return event.state_key is not None and self.matches(event.type, event.state_key)

    def member_keys(self) -> set[str]:
        """The users whose member events are asked for by name ($ME included)."""
        return {key for event_type, key in self.keys if event_type == MEMBER}


def _excluded(excluded: frozenset[tuple[str, str]], event_type: str, state_key: str) -> bool:
    return any(t in (WILDCARD, event_type) and k in (WILDCARD, state_key) for t, k in excluded)


@lru_cache(maxsize=1024)  # a response resolves the same few configs for every room
def resolve(
    selectors: frozenset[StateSelector],
    user_id: str,
    excluded: frozenset[StateSelector] = frozenset(),
) -> Wanted:
    """The selectors with `$ME` replaced by the requester and `$LAZY` set aside; `excluded`
    (MSC4186 `exclude`: "The set of state to filter out before returning") likewise."""
    every_type_keys: set[str] = set()
    whole_types: set[str] = set()
    keys: set[tuple[str, str]] = set()
    lazy = False
    for event_type, raw_key in selectors:
        if raw_key == LAZY:
            lazy = lazy or event_type == MEMBER
            continue
        key = user_id if raw_key == ME else raw_key
        if event_type == WILDCARD:
            every_type_keys.add(key)
        elif key == WILDCARD:
            whole_types.add(event_type)
        else:
            keys.add((event_type, key))
    mine = frozenset((t, user_id if k == ME else k) for t, k in excluded)
    return Wanted(frozenset(every_type_keys), frozenset(whole_types), frozenset(keys), lazy, mine)


def read_plan(wanted: Wanted, users: Iterable[str]) -> tuple[list[str] | None, list[str]]:
    """(types to read whole, None for every type; member keys to read) for `wanted`, the room
    fields, and the member events of `users` (lazy members, heroes)."""
    members = wanted.member_keys() | set(users)
    if wanted.every_type_keys:
        return None, sorted(members)
    types = set(ROOM_FIELDS) | set(wanted.whole_types)
    types |= {event_type for event_type, _ in wanted.keys if event_type != MEMBER}
    return sorted(types), sorted(members)


def timeline_members(events: Iterable[StoredEvent]) -> set[str]:
    """The users a lazy-loading client needs the member events of to render `events`: their
    senders and the targets of their member events (spec: "Lazy loaded memberships")."""
    users: set[str] = set()
    for event in events:
        users.add(event.sender)
        if event.type == MEMBER and event.state_key is not None:
            users.add(event.state_key)
    return users


def state_text(event: StoredEvent | None, key: str) -> str | None:
    """A string field of a state event's content (None when unset, empty or not a string)."""
    if event is None:
        return None
    value = event.content.get(key) if event.redacted_by is None else None
    return value if isinstance(value, str) and value else None
