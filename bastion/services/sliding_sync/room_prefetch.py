"""What the initial rooms of one response need, read for all of them at once.

Element X grows its room list to every room the user has: one response then builds hundreds of
rooms it never sent. Room by room that is a timeline read, a state read and a bundled
aggregations read each; here it is one read of each for all of them:

* timelines: `VisibilityService.timelines` (the newest `timeline_limit` events of each room, one
  query per limit asked for), so every history-visibility, ignored-user and retention rule
  still applies there, in the read door;
* required state: `VisibilityService.joined_states_of` (one query per distinct
  `required_state`), the room fields and every room's lazy members included; a selector asking
  for every type (`*`) is left to the room-by-room read;
* heroes of the rooms without a name: one read of their members (room_facts.py, /sync's
  `pick_heroes` rule) and one of the heroes' member events;
* client forms: one `EventFormatter.format` call for all timelines and one for all state, so
  the bundled aggregations of every room are one read.

Invariant: only rooms the requester is joined to and that the connection never sent (memory
None) are prefetched; they are read at `upto`, the ceiling of a joined room. Anything not
prefetched is read by the room-by-room path of room_results.py as before.

A woken request builds the few joined rooms it sent before that have events since
(`since_sent`): their timelines since what was sent are read together through
`VisibilityService.timelines`, so through /sync's shared window (services/recent_events.py:
the connections one message wakes read it once), and formatted in one call. Each page is kept
with its `Span`: room_results.py uses it only for exactly that window (a room whose membership
or config changed reads its own).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bastion.events.filters import RoomEventFilter
from bastion.events.model import StoredEvent
from bastion.events.types import EventType
from bastion.json_types import JsonObject
from bastion.services.formatting.formatter import EventFormatter
from bastion.services.principal import Requester
from bastion.services.sliding_sync.required_state import (
    read_plan,
    resolve,
    state_text,
    timeline_members,
)
from bastion.services.sliding_sync.room_model import (
    RoomConfig,
    RoomToBuild,
    StateSelector,
)
from bastion.services.visibility import Page, Span, VisibilityService
from bastion.store.protocols.sliding_sync_rooms import RoomPositions
from bastion.store.records import MembershipRecord

_NO_FILTER = RoomEventFilter()


@dataclass(frozen=True, slots=True)
class InitialRoom:
    """A room the response sends whole: the requester's membership and the combined config."""

    membership: MembershipRecord
    config: RoomConfig


@dataclass(slots=True)
class Prefetched:
    """What was read ahead, by room; a room absent from a field is read on its own."""

    timelines: dict[str, Page] = field(default_factory=dict)
    state: dict[str, list[StoredEvent]] = field(default_factory=dict)
    formatted: dict[str, JsonObject] = field(default_factory=dict)  # event_id -> client form
    # unnamed rooms: their heroes, and the heroes' member events (absent: no member event)
    heroes: dict[str, tuple[list[str], dict[str, StoredEvent]]] = field(default_factory=dict)
    # rooms sent before (`since_sent`): the timeline of exactly this window of the room
    windows: dict[str, tuple[Span, Page]] = field(default_factory=dict)

    def window(self, room_id: str, span: Span) -> Page | None:
        """The page read ahead for `span` of the room, if that very window was read."""
        found = self.windows.get(room_id)
        return found[1] if found is not None and found[0] == span else None

    def client_events(self, events: Sequence[StoredEvent]) -> list[JsonObject] | None:
        """The client forms of `events` when every one was formatted ahead, else None."""
        out = [self.formatted.get(e.event_id) for e in events]
        return None if any(o is None for o in out) else [o for o in out if o is not None]


@dataclass(frozen=True, slots=True)
class SentRoom:
    """A joined room sent before with events since: its timeline window (after, upto]."""

    membership: MembershipRecord
    after: int  # the position it was last sent up to
    limit: int  # its timeline_limit


class HeroReader(Protocol):
    """The heroes of many rooms at once (room_facts.RoomFacts)."""

    async def heroes(self, user_id: str, room_ids: Sequence[str]) -> dict[str, list[str]]: ...


@dataclass(frozen=True, slots=True)
class Readers:
    """What the prefetch reads through."""

    visibility: VisibilityService
    formatter: EventFormatter
    heroes: HeroReader


async def prefetch(
    readers: Readers, requester: Requester, rooms: Sequence[InitialRoom], upto: int
) -> Prefetched:
    """Read the timelines, required state, heroes and client forms of `rooms` in a few
    queries."""
    visibility = readers.visibility
    found = Prefetched()
    joined = [r for r in rooms if r.membership.membership == "join" and not r.membership.forgotten]
    if len(joined) < 2:
        return found  # one room: the room-by-room path costs the same
    viewer = requester.user_id
    by_limit: dict[int, list[MembershipRecord]] = {}
    for room in joined:
        if room.config.timeline_limit > 0:
            by_limit.setdefault(room.config.timeline_limit, []).append(room.membership)
    for limit, memberships in by_limit.items():
        span = Span(0, upto + 1, limit)
        found.timelines |= await visibility.timelines(viewer, memberships, span, _NO_FILTER)
    by_state: dict[frozenset[StateSelector], list[MembershipRecord]] = {}
    for room in joined:
        by_state.setdefault(room.config.required_state, []).append(room.membership)
    for selectors, memberships in by_state.items():
        wanted = resolve(selectors, viewer)
        lazy: set[str] = set()
        if wanted.is_lazy:
            for m in memberships:
                page = found.timelines.get(m.room_id)
                lazy |= timeline_members(page.visible if page is not None else [])
        types, users = read_plan(wanted, lazy)
        if types is None:
            continue  # every type: the whole state of each room, read room by room
        found.state |= await visibility.joined_states_of(memberships, types, users)
    await _heroes(readers, requester.user_id, [r.membership for r in joined], found)
    await _format(readers.formatter, requester, found)
    return found


def sent_with_news(room: RoomToBuild, place: RoomPositions | None) -> SentRoom | None:
    """A joined room sent before, with events since, whose build reads its timeline since what
    was sent (the same membership and no grown limit or exclusion, else the window differs)."""
    memory, membership, config = room.memory, room.membership, room.config
    if memory is None or place is None or place.newest <= memory.sent_upto:
        return None
    if membership.membership != "join" or memory.membership != "join" or membership.forgotten:
        return None
    if not 0 < config.timeline_limit <= memory.config.timeline_limit:
        return None
    if memory.config.excluded - config.excluded:
        return None
    return SentRoom(membership, memory.sent_upto, config.timeline_limit)


async def since_sent(
    readers: Readers, requester: Requester, rooms: Sequence[SentRoom], upto: int, found: Prefetched
) -> None:
    """Read into `found` the timelines of `rooms` since each was last sent (one shared read per
    distinct window), and their client forms (one call)."""
    by_window: dict[tuple[int, int], list[MembershipRecord]] = {}
    for room in rooms:
        by_window.setdefault((room.after, room.limit), []).append(room.membership)
    events: list[StoredEvent] = []
    for (after, limit), memberships in by_window.items():
        span = Span(after, upto + 1, limit)
        pages = await readers.visibility.timelines(requester.user_id, memberships, span, _NO_FILTER)
        for room_id, page in pages.items():
            found.windows[room_id] = (span, page)
            events += page.visible
    if events:
        client = await readers.formatter.format(events, requester)
        found.formatted |= {e.event_id: c for e, c in zip(events, client, strict=True)}


async def _heroes(
    readers: Readers, user_id: str, joined: list[MembershipRecord], found: Prefetched
) -> None:
    """The heroes of the rooms whose prefetched state has no name, and their member events."""
    unnamed = [
        m
        for m in joined
        if m.room_id in found.state
        and not any(
            e.type == EventType.NAME and e.state_key == "" and state_text(e, "name") is not None
            for e in found.state[m.room_id]
        )
    ]
    if not unnamed:
        return
    heroes = await readers.heroes.heroes(user_id, [m.room_id for m in unnamed])
    users = sorted({user for room in heroes.values() for user in room})
    members = await readers.visibility.joined_states_of(unnamed, [], users) if users else {}
    for m in unnamed:
        chosen = heroes.get(m.room_id, [])
        events = {e.state_key or "": e for e in members.get(m.room_id, [])}
        found.heroes[m.room_id] = (chosen, {u: events[u] for u in chosen if u in events})


async def _format(formatter: EventFormatter, requester: Requester, found: Prefetched) -> None:
    for events in (
        [e for page in found.timelines.values() for e in page.visible],
        [e for state in found.state.values() for e in state],
    ):
        if events:
            client = await formatter.format(events, requester)
            found.formatted |= {e.event_id: c for e, c in zip(events, client, strict=True)}
