"""The per-room sections of a /sync response: join, invite, knock and leave.

The state section is "the state at the start of the returned timeline", computed without
replaying history: take current state (or, incrementally, only the keys changed since the token)
and, for each key that the returned timeline itself changes, step back to the event its first
change replaced (`replaces_state`, recorded when the event was stored). Invariants:

* no event is in both `state` and `timeline`, and an incremental `state` holds nothing the
  client had at `since`;
* nothing after the window's end (`ceiling`: the response's `next_batch`, or the user's leave)
  is in `state`: when current state has moved past it, the state at the ceiling is read instead;
* state changes the filter or history visibility keeps out of the returned timeline are in
  `state` (they lie before its start, or the client would never learn them), so an incremental
  sync computes the delta when the timeline is limited or left a state event out.

A client that sends `use_state_after` (spec v1.16, MSC4222; or its unstable name, answered
under the unstable name) gets `state_after` instead, always present: the state at the END of
the timeline, i.e. what changed after `since` up to the ceiling, timeline state events included
(that client takes no state from the timeline). No rollback is needed, and an incremental
window whose fetched events hold no state change reads nothing.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import msgspec

from bastion.events.filters import FilterDefinition, RoomEventFilter, event_matches
from bastion.events.model import StoredEvent
from bastion.events.serialize import stripped_state
from bastion.events.types import EventType
from bastion.json_types import JsonObject
from bastion.services.formatting.formatter import EventFormatter
from bastion.services.members_cache import RoomMembersCache
from bastion.services.principal import Requester
from bastion.services.stream_token import format_token
from bastion.services.visibility import Page, Span, VisibilityService
from bastion.store.database import Database
from bastion.store.records import MembershipRecord

StateKey = tuple[str, str | None]
INVITE_STATE_TYPES = (
    EventType.CREATE, EventType.JOIN_RULES, EventType.NAME, EventType.AVATAR,
    EventType.CANONICAL_ALIAS, EventType.ENCRYPTION, EventType.TOPIC,
)  # fmt: skip
MAX_HEROES = 5


@dataclass(frozen=True, slots=True)
class RoomWindow:
    """What to report for one room: since where, whether in full."""

    requester: Requester
    membership: MembershipRecord
    timeline: Page  # the newest events of the window, oldest first, from the read door
    since: int | None
    full_state: bool
    filter: FilterDefinition
    ceiling: int  # the window's last position: the sync's `upto`, or the user's leave
    # send `state_after` (end of the timeline) under this key instead of `state` (request.py)
    state_after: str | None = None


class RoomSections:
    """Builds the JSON of each room section."""

    def __init__(
        self,
        db: Database,
        visibility: VisibilityService,
        formatter: EventFormatter,
        members: RoomMembersCache,
    ) -> None:
        self._db = db
        self._visibility = visibility
        self._formatter = formatter
        self._members = members

    async def timelines(
        self, viewer: str, memberships: list[MembershipRecord], span: Span, f: RoomEventFilter
    ) -> dict[str, Page]:
        """The timelines of several joined rooms, through the read door in one query."""
        return await self._visibility.timelines(viewer, memberships, span, f)

    async def timeline(
        self, viewer: str, membership: MembershipRecord, span: Span, f: RoomEventFilter
    ) -> Page:
        """One room's timeline (initial sync, a newly joined room, a room left)."""
        return await self._visibility.timeline(viewer, membership, span, f)

    async def timeline_section(self, window: RoomWindow) -> tuple[JsonObject, list[StoredEvent]]:
        """The `timeline` object and the visible events in it."""
        page = window.timeline
        first = page.oldest - 1 if page.oldest is not None else (window.since or 0)
        section = {
            "events": await self._formatter.format(page.visible, window.requester),
            "limited": page.limited,
            "prev_batch": format_token(first),
        }
        return section, page.visible

    async def joined(
        self,
        window: RoomWindow,
        account_data: list[JsonObject],
        ephemeral: list[JsonObject],
        unread: JsonObject,
    ) -> JsonObject:
        """The `rooms.join[room_id]` object; `unread` holds its notification count fields."""
        room_id = window.membership.room_id
        timeline, visible = await self.timeline_section(window)
        return {
            "timeline": timeline,
            **await self._state_section(window, visible, joined=True),
            "account_data": {"events": account_data},
            "ephemeral": {"events": ephemeral},
            "summary": await self._summary(window, room_id),
            **unread,
        }

    async def left(self, window: RoomWindow) -> JsonObject:
        """The `rooms.leave[room_id]` object: history up to and including the leave."""
        timeline, visible = await self.timeline_section(window)
        return {
            "timeline": timeline,
            **await self._state_section(window, visible, joined=False),
            "account_data": {"events": []},
        }

    async def _state_section(
        self, window: RoomWindow, visible: list[StoredEvent], *, joined: bool
    ) -> JsonObject:
        """`{"state": ...}`, or `{"state_after": ...}` when the client asked for it: "MUST
        omit `state`", and `state_after` is "Required ... even if it is empty"."""
        if window.state_after is not None:
            after = self._filter_state(window, await self.state_after(window, visible), visible)
            events = await self._formatter.format(after, window.requester)
            return {window.state_after: {"events": events}}
        incremental = window.since is not None and not window.full_state
        state: list[StoredEvent] = []
        # A state event the filter or visibility kept out of the timeline goes in `state`; a
        # joined room's unlimited incremental timeline holds every other change itself.
        if not joined or not incremental or window.timeline.limited or window.timeline.hid_state:
            state = await self.state_at_start(window, visible)
        state = self._filter_state(window, state, visible)
        return {"state": {"events": await self._formatter.format(state, window.requester)}}

    async def stripped(self, membership: MembershipRecord) -> list[JsonObject] | None:
        """Stripped state for an invite or knock, including the member event itself; None for
        an invite from someone the user ignores (it is not shown)."""
        events = await self._visibility.invite_state(membership, INVITE_STATE_TYPES)
        if events is None:
            return None
        return [_to_builtins(stripped_state(e)) for e in events if e.state_key is not None]

    async def state_at_start(
        self, window: RoomWindow, timeline: Sequence[StoredEvent]
    ) -> list[StoredEvent]:
        """State at the start of the returned `timeline` (only what changed after the window's
        `since`, when incremental), never past the window's ceiling."""
        since = None if window.full_state else window.since
        current = await self._visibility.state_upto(window.membership, since, window.ceiling)
        by_key: dict[StateKey, StoredEvent] = {(e.type, e.state_key): e for e in current}
        first_change: dict[StateKey, StoredEvent] = {}
        for event in timeline:
            if event.is_state:
                first_change.setdefault((event.type, event.state_key), event)
        replaced = await self._visibility.replaced_state(
            window.membership, list(first_change.values())
        )
        for key, event in first_change.items():
            prior = replaced.get(event.replaces_state) if event.replaces_state else None
            if prior is None or (since is not None and prior.stream_ordering <= since):
                by_key.pop(key, None)
            else:
                by_key[key] = prior
        return sorted(by_key.values(), key=lambda e: e.stream_ordering)

    async def state_after(
        self, window: RoomWindow, timeline: Sequence[StoredEvent]
    ) -> list[StoredEvent]:
        """State at the end of the returned `timeline` (only what changed after the window's
        `since`, when incremental, the timeline's own state events included), never past the
        window's ceiling. An incremental window that fetched every event after `since` and
        found no state event among them (shown or hidden) changed nothing: no read."""
        since = None if window.full_state else window.since
        page = window.timeline
        if (
            since is not None
            and not page.limited
            and not page.hid_state
            and not any(e.is_state for e in timeline)
        ):
            return []
        state = await self._visibility.state_upto(window.membership, since, window.ceiling)
        return sorted(state, key=lambda e: e.stream_ordering)

    @staticmethod
    def _filter_state(
        window: RoomWindow, state: list[StoredEvent], visible: list[StoredEvent]
    ) -> list[StoredEvent]:
        state_filter = window.filter.room.state
        kept = [e for e in state if event_matches(state_filter, e)]
        if not state_filter.lazy_load_members:
            return kept
        wanted = {e.sender for e in visible} | {window.requester.user_id}
        if window.state_after is not None:
            # That client takes no state from the timeline: a member event it shows there (a
            # kick, an invite) must reach its state through `state_after`, as it does today
            # through the timeline for a client of `state`.
            wanted |= {e.state_key for e in visible if e.type == EventType.MEMBER and e.state_key}
        return [e for e in kept if e.type != EventType.MEMBER or e.state_key in wanted]

    async def _summary(self, window: RoomWindow, room_id: str) -> JsonObject:
        """Member counts and heroes, sent when they may have changed: in a full sync, or when
        the timeline has member events (the spec lets an unchanged summary be left out, and
        building it costs a pass over the room's members)."""
        incremental = window.since is not None and not window.full_state
        if incremental and not window.timeline.has_member_event:
            return {}
        joined = await self._members.joined(room_id)
        user_id = window.requester.user_id
        heroes = await room_heroes(self._members, room_id, user_id)
        return {"m.joined_member_count": len(joined), "m.heroes": heroes}


async def room_heroes(members: RoomMembersCache, room_id: str, user_id: str) -> list[str]:
    """`pick_heroes` of a room: its invited members are read only when fewer than five other
    members are joined, its left and banned ones only when nobody else is joined or invited."""
    joined = await members.joined(room_id)
    invited: list[str] = []
    gone: list[str] = []
    others = len(joined - {user_id})
    if others < MAX_HEROES:
        invited, gone = await members.others(room_id, gone=not others)
    return pick_heroes(joined, user_id, invited=invited, gone=gone)


def pick_heroes(
    joined: Iterable[str],
    user_id: str,
    *,
    invited: Sequence[str] = (),
    gone: Sequence[str] = (),
) -> list[str]:
    """A room summary's `m.heroes` (spec: "the first 5 members of the room, ordered by stream
    ordering, which are joined or invited. The list must never include the client's own user
    ID. When no joined or invited members are available, this should consist of the banned and
    left users."): up to five joined members other than `user_id` (the smallest user IDs first:
    the joined set carries no order), then invited ones (`invited`, in stream order); only when
    there are none, left and banned ones (`gone`, in stream order). Also the heroes of sliding
    sync (services/sliding_sync/)."""
    heroes = heapq.nsmallest(MAX_HEROES, (u for u in joined if u != user_id))
    heroes += [u for u in invited if u != user_id and u not in heroes]
    if not heroes:
        heroes = [u for u in dict.fromkeys(gone) if u != user_id]
    return heroes[:MAX_HEROES]


def _to_builtins(value: object) -> JsonObject:
    result: JsonObject = msgspec.to_builtins(value)
    return result
