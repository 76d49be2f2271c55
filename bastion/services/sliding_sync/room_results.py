"""One room's part of a sliding-sync response (MSC4186 "Room results", "Changing room configs").

`RoomResults.build` answers for one room, given its combined `RoomConfig` and what the
connection remembers having sent (`RoomMemory`, room_model.py). Invariants:

* Everything a client gets passes the read door (services/visibility.py): the timeline through
  `timeline` (history visibility, ignored users, retention, redacted forms), state through
  `state_of` / `state_upto` (current, or at the viewer's leave), stripped state through
  `invite_state` (via /sync's `RoomSections.stripped`). No visibility rule is repeated here.
* Without memory, or when the requester's membership changed since (an invite became a join),
  the room is sent whole (`initial`). With memory, only what changed after `memory.sent_upto`
  (not after `since`: a room out of the client's ranges for a while catches up from where it
  was last sent), plus what the config newly asks for: older events when `timeline_limit` grew
  (`expanded_timeline`), state newly matched when `required_state` grew.
* A room with memory and no event, `m.direct` change, read receipt of the user's or config
  growth since it was last sent is answered without reading it (`news` False; `build_many`
  answers it before `build` from facts read once per response: room_facts.py).
* `build_many` reads the rooms never sent ahead, together, and the timelines of the joined
  rooms sent before with events since (a woken request's rooms) through the shared window of
  `VisibilityService.timelines`, as /sync does (room_prefetch.py); the positions of all its
  rooms are read once, not per room.
* Unread counts are /sync's, on every room sent; the user's own read receipt in a room makes
  it news (sent again with its counts), so counts are never left stale while it is in range.
* A config whose `exclude` no longer leaves out something it did sends the room whole again.
* Lazy members (`$LAZY`): the member event of each timeline sender (and member-event target) is
  sent once per connection (`RoomMemory.lazy_members`) and again only when it changes; an
  ungappy incremental response carries every member change (spec: "Lazy loaded memberships").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bastion.errors import MatrixError
from bastion.events.filters import RoomEventFilter
from bastion.events.model import StoredEvent
from bastion.json_types import JsonObject
from bastion.services.formatting.formatter import EventFormatter
from bastion.services.members_cache import RoomMembersCache
from bastion.services.principal import Requester
from bastion.services.sliding_sync.required_state import (
    MEMBER,
    Wanted,
    read_plan,
    resolve,
    timeline_members,
)
from bastion.services.sliding_sync.room_facts import RoomFacts
from bastion.services.sliding_sync.room_fields import RoomBuild, RoomFields
from bastion.services.sliding_sync.room_model import (
    RoomConfig,
    RoomMemory,
    RoomResult,
    RoomToBuild,
)
from bastion.services.sliding_sync.room_prefetch import (
    InitialRoom,
    Prefetched,
    Readers,
    prefetch,
    sent_with_news,
    since_sent,
)
from bastion.services.stream_token import format_token
from bastion.services.sync.rooms import RoomSections
from bastion.services.visibility import RoomAccess, Span, VisibilityService
from bastion.store.protocols.sliding_sync_rooms import RoomPositions
from bastion.store.records import MembershipRecord

_NO_FILTER = RoomEventFilter()


@dataclass(frozen=True, slots=True)
class RoomReaders:
    """The services a room result is read through."""

    visibility: VisibilityService
    formatter: EventFormatter
    sections: RoomSections  # stripped state of invites and knocks, as /sync gives it
    members: RoomMembersCache  # heroes, as /sync picks them


class RoomResults:
    """Builds room results; see the module docstring for what is sent when."""

    def __init__(self, readers: RoomReaders, facts: RoomFacts) -> None:
        self._visibility = readers.visibility
        self._formatter = readers.formatter
        self._sections = readers.sections
        self._members = readers.members
        self._facts = facts
        self._fields = RoomFields(readers.visibility, readers.members, facts)
        self.rooms_built = 0  # rooms given to build_many, ever (cost budgets in tests)

    async def bump_stamps(self, user_id: str, room_ids: Sequence[str], upto: int) -> dict[str, int]:
        """room_id -> bump stamp, for sorting lists by recency (rooms without a membership of
        the user left out): at most two queries, none for the rooms known already."""
        positions = await self._facts.positions(user_id, room_ids, upto)
        return {room_id: p.bump for room_id, p in positions.items()}

    @property
    def facts(self) -> RoomFacts:
        """What is read once per response (incremental.py primes and reads it too)."""
        return self._facts

    async def build(
        self,
        requester: Requester,
        room_id: str,
        membership: MembershipRecord,
        config: RoomConfig,
        memory: RoomMemory | None,
        *,
        since: int | None,
        upto: int,
        ahead: Prefetched | None = None,
    ) -> RoomResult | None:
        """The room's result; None when the requester may not see the room (leave it out).
        `ahead`: what was read for many rooms at once (build_many)."""
        if membership.room_id != room_id:
            return None
        positions = await self._facts.positions(requester.user_id, [room_id], upto)
        room = RoomToBuild(membership, config, memory)
        window = (since, upto)
        return await self._build(requester, room, positions.get(room_id), window, ahead)

    async def _build(
        self,
        requester: Requester,
        room: RoomToBuild,
        positions: RoomPositions | None,
        window: tuple[int | None, int],
        ahead: Prefetched | None,
    ) -> RoomResult | None:
        """`build`, given the room's positions at `upto` (None: no membership of the user's)."""
        membership, config, memory = room.membership, room.config, room.memory
        since, upto = window
        if membership.forgotten:
            return None
        if memory is not None and (
            memory.config.excluded - config.excluded  # some excluded state is now wanted
            or await self._membership_changed(membership, memory)
        ):
            memory = None  # invite -> join, join -> leave...: the client replaces the room
        user_id, room_id = requester.user_id, membership.room_id
        bump = membership.stream_ordering if positions is None else positions.bump
        newest = upto if positions is None else positions.newest
        if membership.membership in ("invite", "knock"):
            return await self._invited(membership, config, memory, bump)
        if membership.membership == "join":
            access, ceiling = RoomAccess(membership, None), upto
        else:
            try:
                access = await self._visibility.room_access(user_id, room_id)
            except MatrixError:
                return None  # left without ever having joined (a rejected invite)
            ceiling = min(upto, membership.stream_ordering)
        build = RoomBuild(
            requester, membership, config, memory, since, upto, ceiling, access,
            ahead or Prefetched(),
        )  # fmt: skip
        if memory is not None and not await self._may_have_news(build, memory, newest):
            return RoomResult({}, False, memory, bump)  # unchanged: nothing to store again
        return await self._room(build, bump)

    async def build_many(
        self, requester: Requester, rooms: Sequence[RoomToBuild], *, since: int | None, upto: int
    ) -> dict[str, RoomResult | None]:
        """`build` for every room of a response: the rooms never sent are read ahead together
        (room_prefetch.py), so growing a list to every room costs a few queries, not a few
        per room."""
        self.rooms_built += len(rooms)
        if not rooms:
            return {}
        initial = [InitialRoom(r.membership, r.config) for r in rooms if r.memory is None]
        readers = Readers(self._visibility, self._formatter, self._facts)
        ahead = await prefetch(readers, requester, initial, upto)
        user_id = requester.user_id
        positions = await self._facts.positions(user_id, [r.room_id for r in rooms], upto)
        sent = [s for r in rooms if (s := sent_with_news(r, positions.get(r.room_id)))]
        if sent:
            await since_sent(readers, requester, sent, upto, ahead)
        maybe = [_may_be_quiet(r, positions.get(r.room_id)) for r in rooms]
        marks = _Marks(0, {})  # read only when some room may be quiet (a woken room is not)
        if since is not None and any(maybe):
            marks = _Marks(
                await self._facts.direct_changed_at(user_id, upto),
                await self._facts.own_receipts(user_id, since, upto),
            )
        results: dict[str, RoomResult | None] = {}
        for r, may_be_quiet in zip(rooms, maybe, strict=True):
            place = positions.get(r.room_id)
            quiet = _quiet(r, place, marks) if may_be_quiet else None
            if quiet is not None:
                results[r.room_id] = quiet
                continue
            window = (since if r.memory is not None else None, upto)
            results[r.room_id] = await self._build(requester, r, place, window, ahead)
        return results

    async def _membership_changed(self, membership: MembershipRecord, memory: RoomMemory) -> bool:
        """Did the requester's membership change since the room was sent? A new member event
        of the same membership (a display name) is no change; a leave and a join back (or the
        other way) between two responses is: read the requester's member events only then."""
        if memory.membership != membership.membership:
            return True
        if membership.stream_ordering <= memory.sent_upto:
            return False
        history = await self._visibility.history(membership.user_id, membership.room_id, membership)
        return any(
            position > memory.sent_upto and value != membership.membership
            for position, value in history.memberships
        )

    async def _invited(
        self, membership: MembershipRecord, config: RoomConfig, memory: RoomMemory | None, bump: int
    ) -> RoomResult | None:
        """An invite or knock: the stripped state it carries, once."""
        if memory is not None:
            return RoomResult({}, False, memory, bump)  # an invite does not change
        sent = RoomMemory(membership.stream_ordering, config, frozenset(), membership.membership)
        stripped = await self._sections.stripped(membership)
        if stripped is None:
            return None  # an invite from someone the requester ignores
        payload: JsonObject = {
            "initial": True,
            "membership": membership.membership,
            "stripped_state": stripped,
            "bump_stamp": bump,
        }
        return RoomResult(payload, True, sent, bump)

    async def _may_have_news(self, build: RoomBuild, memory: RoomMemory, newest: int) -> bool:
        """False when nothing can have changed for the client since the room was last sent."""
        grown = build.config.timeline_limit > memory.config.timeline_limit or bool(
            build.config.required_state - memory.config.required_state
        )
        if grown:
            return True
        after = memory.sent_upto
        if after < build.ceiling and newest > after:
            return True
        if await self._counts_moved(build):
            return True
        return await self._facts.direct_changed(build.user_id, after, build.upto)

    async def _counts_moved(self, build: RoomBuild) -> bool:
        """May the unread counts have moved since the room was sent without an event of it (the
        user's own read receipt)? The issue: "send what /sync would, never something wrong"."""
        memory = build.memory
        if memory is None or build.since is None or build.membership.membership != "join":
            return False
        return await self._facts.read_since(
            build.user_id, build.room_id, memory.sent_upto, build.since, build.upto
        )

    async def _room(self, build: RoomBuild, bump: int) -> RoomResult:
        memory = build.memory
        timeline, limited, expanded, whole = await self._timeline(build)
        payload: JsonObject = {"membership": build.membership.membership, "bump_stamp": bump}
        if memory is None:
            payload["initial"] = True
        # Every event of (sent_upto, ceiling] is in the timeline and none is state: no state
        # changed in the window, so there are no changes to read.
        no_state = whole and not any(e.is_state for e in timeline)
        state, lazy_sent, changed = await self._required_state(build, timeline, (limited, no_state))
        news = await self._fields.fill(build, payload, changed)
        if build.config.timeline_limit > 0:
            payload.update(self._timeline_fields(build, timeline, limited))
            payload["timeline"] = await self._client(build, timeline)
        if expanded:
            payload["expanded_timeline"] = payload["unstable_expanded_timeline"] = True
        if state:
            payload["required_state"] = await self._client(build, state)
        news = news or bool(timeline) or bool(state) or await self._counts_moved(build)
        if build.membership.membership == "join" and (news or memory is None):
            unread = await self._facts.unread(
                build.user_id, build.room_id, build.upto, bulk=memory is None
            )
            payload.update(unread["unread_notifications"])
        remembered = self._remembered(build, limited, lazy_sent)
        is_news = memory is None or news or bool(timeline) or bool(state) or expanded
        return RoomResult(payload, is_news, remembered, bump)

    async def _client(self, build: RoomBuild, events: list[StoredEvent]) -> list[JsonObject]:
        """The client forms of a room's events without `room_id` (the room is their key: the
        spec's ClientEventWithoutRoomID, what ruma reads)."""
        ready = build.ahead.client_events(events)
        out = ready if ready is not None else await self._formatter.format(events, build.requester)
        for event in out:  # fresh dicts of this response (formatted for it, here or ahead)
            event.pop("room_id", None)
        return out

    async def _timeline(self, build: RoomBuild) -> tuple[list[StoredEvent], bool, bool, bool]:
        """(visible events oldest first, limited, expanded, whole): the newest `timeline_limit`
        events up to the ceiling, only those after `sent_upto` unless the limit grew; `whole`:
        they are every event after `sent_upto` (none left out, not limited)."""
        limit, memory = build.config.timeline_limit, build.memory
        if limit <= 0:
            return [], False, False, False
        grew = memory is not None and limit > memory.config.timeline_limit
        after = 0 if memory is None or grew else memory.sent_upto
        span = Span(after, build.ceiling + 1, limit)
        if memory is None:
            page = build.ahead.timelines.get(build.room_id)
        else:
            page = build.ahead.window(build.room_id, span)
        if page is None:
            page = await self._visibility.timeline(
                build.user_id, build.membership, span, _NO_FILTER
            )
        events = page.visible
        expanded = (
            grew
            and memory is not None
            and any(e.stream_ordering <= memory.sent_upto for e in events)
        )
        whole = memory is not None and not grew and not page.limited and not page.hid_state
        return events, page.limited, expanded, whole

    @staticmethod
    def _timeline_fields(build: RoomBuild, events: list[StoredEvent], limited: bool) -> JsonObject:
        oldest = events[0].stream_ordering - 1 if events else build.ceiling
        live = 0
        if build.since is not None:
            live = sum(1 for e in events if e.stream_ordering > build.since)
        return {"limited": limited, "prev_batch": format_token(oldest), "num_live": live}

    async def _required_state(
        self, build: RoomBuild, timeline: list[StoredEvent], gaps: tuple[bool, bool]
    ) -> tuple[list[StoredEvent], set[str], list[StoredEvent]]:
        """(required_state to send, lazy members sent, every state change since last sent)."""
        wanted = resolve(build.config.required_state, build.user_id, build.config.excluded)
        limited, no_state = gaps
        lazy = timeline_members(timeline) if wanted.is_lazy else set()
        if build.memory is None:
            state = build.ahead.state.get(build.room_id)
            if state is None:
                types, users = read_plan(wanted, lazy)
                state = await self._visibility.state_of(build.access, build.room_id, types, users)
            return [e for e in state if _wanted_or_lazy(wanted, lazy, e)], lazy, state
        changed: list[StoredEvent] | None = [] if no_state else None
        return await self._state_changes(build, build.memory, wanted, (lazy, limited), changed)

    async def _state_changes(
        self,
        build: RoomBuild,
        memory: RoomMemory,
        wanted: Wanted,
        lazy_of: tuple[set[str], bool],
        changed: list[StoredEvent] | None,
    ) -> tuple[list[StoredEvent], set[str], list[StoredEvent]]:
        """`_required_state` of a room sent before: the matching changes since (`changed`, when
        known without a read), member events of new lazy members, and what grown selectors
        newly match."""
        lazy, limited = lazy_of
        if changed is None:
            changed = await self._visibility.state_upto(
                build.membership, memory.sent_upto, build.ceiling
            )
        known = memory.lazy_members
        lazy_sent = lazy - known
        chosen: dict[str, StoredEvent] = {}
        for event in changed:
            member = wanted.is_lazy and event.type == MEMBER and event.state_key is not None
            # Ungappy: every member change; gappy: those of members the client knows or needs.
            if member and (not limited or event.state_key in known | lazy):
                chosen[event.event_id] = event
                lazy_sent.add(event.state_key or "")
            elif wanted.matches_event(event):
                chosen[event.event_id] = event
        in_changes = {e.state_key for e in chosen.values() if e.type == MEMBER}
        added = build.config.required_state - memory.config.required_state
        new_lazy = lazy_sent - in_changes
        if not added and not new_lazy:  # nothing newly wanted: nothing more to read
            return sorted(chosen.values(), key=lambda e: e.stream_ordering), lazy_sent, changed
        grown = resolve(added, build.user_id, build.config.excluded)
        old = resolve(memory.config.required_state, build.user_id)
        for event in await self._newly_wanted(build, grown, new_lazy):
            lazy_member = event.type == MEMBER and event.state_key in lazy_sent
            if lazy_member or (grown.matches_event(event) and not old.matches_event(event)):
                chosen.setdefault(event.event_id, event)
        return sorted(chosen.values(), key=lambda e: e.stream_ordering), lazy_sent, changed

    async def _newly_wanted(
        self, build: RoomBuild, grown: Wanted, lazy: set[str]
    ) -> list[StoredEvent]:
        """Current state newly matched by grown selectors, and the member events of new lazy
        members; nothing is read when there is neither."""
        grew = bool(grown.every_type_keys or grown.whole_types or grown.keys)
        if not grew and not lazy:
            return []
        types: list[str] | None = []
        users = sorted(lazy)
        if grew:
            types, plan_users = read_plan(grown, lazy)
            users = plan_users
        return await self._visibility.state_of(build.access, build.room_id, types, users)

    @staticmethod
    def _remembered(build: RoomBuild, limited: bool, lazy_sent: set[str]) -> RoomMemory:
        """The memory after this result: a timeline limit that shrank is remembered at its old
        size while the client still holds that many contiguous events (no gap: not limited),
        so growing it back resends nothing."""
        config, memory = build.config, build.memory
        known: frozenset[str] = frozenset()
        if memory is not None:
            known = memory.lazy_members
            if config == memory.config:
                config = memory.config  # the same object: later comparisons are identity
            elif not limited and memory.config.timeline_limit > config.timeline_limit:
                config = RoomConfig(
                    memory.config.timeline_limit, config.required_state, config.excluded
                )
        lazy = known if lazy_sent <= known else known | lazy_sent
        return RoomMemory(build.ceiling, config, lazy, build.membership.membership)


def _wanted_or_lazy(wanted: Wanted, lazy: set[str], event: StoredEvent) -> bool:
    if wanted.matches_event(event):
        return True
    return event.type == MEMBER and event.state_key in lazy


@dataclass(frozen=True, slots=True)
class _Marks:
    """Per-response facts a quiet room is checked against: the position of the user's last
    `m.direct` change, and of their own receipts since the client's pos, by room."""

    direct_at: int
    receipts: dict[str, int]


def _may_be_quiet(room: RoomToBuild, place: RoomPositions | None) -> bool:
    """`_quiet`'s checks that need no per-response fact: sent before, with the same config and
    membership, and no event or member event of the user's since."""
    memory, membership = room.memory, room.membership
    if memory is None or place is None or membership.forgotten:
        return False
    if membership.membership != memory.membership or room.config != memory.config:
        return False
    after = memory.sent_upto
    return membership.stream_ordering <= after and place.newest <= after


def _quiet(room: RoomToBuild, place: RoomPositions | None, marks: _Marks) -> RoomResult | None:
    """The common case of a response to a client that has every room: sent before, with the
    same config and membership, and nothing since (no event, `m.direct` change or read receipt
    of the user's): its unchanged result, else None. `build` would answer the same, with more
    work per room. Only for a room `_may_be_quiet`."""
    memory = room.memory
    if memory is None or place is None:
        return None
    after = memory.sent_upto
    if marks.direct_at > after:
        return None
    if room.membership.membership == "join" and marks.receipts.get(room.room_id, 0) > after:
        return None
    return RoomResult({}, False, memory, place.bump)
