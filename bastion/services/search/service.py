"""Server-side search over room events (spec: client-server-api#server-side-search).

What a searcher may find is decided in two steps:
1. Scope: the rooms they are or were joined to (memberships join, leave and ban; forgotten rooms
   excluded), narrowed by the filter's rooms, each up to the searcher's leave when they left
   (`VisibilityService.room_access`). The scope keeps the index query small; it is not the
   security check.
2. The check: the index is read only through the visibility door (`search_window`), so every
   candidate passes `filter_events` before it is counted, returned, or lends a word to the
   highlights. Context events (`page`) and state (`state`, `state_at_event`) come through it too.
   So nothing after leaving, and nothing before joining a room whose history is `joined`.

The index answers in windows of WINDOW candidates from the cursor (best rank or newest first);
a page is the first `limit` visible ones. `count` is the number of visible results on earlier
pages plus in this window: exact whenever the remaining matches fit in one window, otherwise a
lower bound (the spec allows an estimate, and an estimate must not count what is hidden).
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.errors import MatrixError
from bastion.events.filters import RoomEventFilter, effective_limit, room_allowed
from bastion.events.model import StoredEvent
from bastion.events.types import EventType, Membership
from bastion.json_types import JsonObject
from bastion.services.formatting.formatter import EventFormatter
from bastion.services.principal import Requester
from bastion.services.search.indexer import SEARCH_KEYS, searchable_text
from bastion.services.search.query import highlights, parse_query
from bastion.services.search.request import (
    Cursor,
    EventContextSpec,
    GroupValue,
    ResultCategories,
    ResultContext,
    RoomEventsCriteria,
    RoomEventsResults,
    SearchResponse,
    SearchResult,
    parse_cursor,
)
from bastion.services.stream_token import format_token
from bastion.services.visibility import Page, RoomAccess, Span, VisibilityService
from bastion.store.database import Database
from bastion.store.protocols import MembershipStore, SearchHit, SearchQuery, SearchScope
from bastion.store.stream import PositionAllocator

WINDOW = 500
MAX_PAGE = 100
MAX_CONTEXT = 50
_SEARCHED_MEMBERSHIPS = (Membership.JOIN.value, Membership.LEAVE.value, Membership.BAN.value)


@dataclass(frozen=True, slots=True)
class SearchStores:
    """The stores search reads (the index and events only through the visibility door)."""

    memberships: MembershipStore


class SearchService:
    """`POST /search`, category `room_events`."""

    def __init__(
        self,
        db: Database,
        stores: SearchStores,
        visibility: VisibilityService,
        formatter: EventFormatter,
        positions: PositionAllocator,
    ) -> None:
        self._db = db
        self._stores = stores
        self._visibility = visibility
        self._formatter = formatter
        self._positions = positions

    async def search(
        self, requester: Requester, criteria: RoomEventsCriteria, *, next_batch: str | None
    ) -> SearchResponse:
        """One page of the events matching `criteria` that the requester may see."""
        cursor = parse_cursor(next_batch, by_rank=criteria.order_by == "rank")
        phrases = parse_query(criteria.search_term)
        access = await self._rooms(requester.user_id, criteria.filter) if phrases else {}
        keys = criteria.keys if criteria.keys is not None else list(SEARCH_KEYS.values())
        query = SearchQuery(
            phrases, [SearchScope(room_id, a.upto) for room_id, a in access.items()],
            list(keys), WINDOW, by_rank=cursor.by_rank, offset=cursor.offset,
            before=cursor.before, senders=criteria.filter.senders,
            not_senders=criteria.filter.not_senders,
        )  # fmt: skip
        window, visible = await self._visibility.search_window(
            requester.user_id, query, access, criteria.filter
        )
        page = visible[: min(effective_limit(criteria.filter.limit, 10), MAX_PAGE)]
        following = _next_cursor(cursor, window, visible, page)
        texts = [text for hit in page if (text := searchable_text(hit.event)) is not None]
        state = await self._room_state(requester, page, access) if criteria.include_state else None
        results = RoomEventsResults(
            results=await self._results(requester, page, access, criteria.event_context),
            count=cursor.seen + len(visible),
            highlights=highlights(phrases, texts),
            next_batch=following.token() if following is not None else None,
            groups=_groups(page, [g.key for g in criteria.groupings.group_by]),
            state=state,
        )
        return SearchResponse(ResultCategories(results))

    async def _rooms(self, viewer: str, f: RoomEventFilter) -> dict[str, RoomAccess]:
        """The rooms to search, with how far the viewer may read each."""
        records = await self._stores.memberships.rooms_of_user(
            self._db, viewer, _SEARCHED_MEMBERSHIPS
        )
        access: dict[str, RoomAccess] = {}
        for membership in records:
            room_id = membership.room_id
            if not room_allowed(f.rooms, f.not_rooms, room_id):
                continue
            if membership.membership == Membership.JOIN:
                # What room_access answers for a joined member, without reading the row again.
                access[room_id] = RoomAccess(membership, None)
                continue
            try:
                access[room_id] = await self._visibility.room_access(viewer, room_id)
            except MatrixError:
                continue  # left without ever having joined (a rejected invite)
        return access

    async def _results(
        self,
        requester: Requester,
        page: list[SearchHit],
        access: dict[str, RoomAccess],
        context: EventContextSpec | None,
    ) -> list[SearchResult]:
        events = await self._formatter.format([hit.event for hit in page], requester)
        results = []
        for hit, event in zip(page, events, strict=True):
            around = None
            if context is not None:
                around = await self._context(
                    requester, hit.event, access[hit.event.room_id], context
                )
            results.append(SearchResult(hit.rank, event, around))
        return results

    async def _context(
        self, requester: Requester, event: StoredEvent, access: RoomAccess, spec: EventContextSpec
    ) -> ResultContext:
        """The visible events around one result, as /context would give them."""
        room_id, position = event.room_id, event.stream_ordering
        ceiling = access.upto if access.upto is not None else self._positions.persisted_upto()
        before_limit = max(0, min(spec.before_limit, MAX_CONTEXT))
        after_limit = max(0, min(spec.after_limit, MAX_CONTEXT))
        viewer = requester.user_id
        before = after = Page([])
        if before_limit:
            span = Span(0, position, before_limit, newest_first=True)
            before = await self._visibility.page(viewer, access, room_id, span, None)
        if after_limit:
            span = Span(position, ceiling + 1, after_limit, newest_first=False)
            after = await self._visibility.page(viewer, access, room_id, span, None)
        profiles = None
        if spec.include_profile:
            senders = {e.sender for e in [event, *before.visible, *after.visible]}
            profiles = await self._profiles(event, senders)
        return ResultContext(
            start=format_token((position if before.oldest is None else before.oldest) - 1),
            end=format_token(position if after.newest is None else after.newest),
            events_before=await self._formatter.format(before.visible, requester),
            events_after=await self._formatter.format(after.visible, requester),
            profile_info=profiles,
        )

    async def _profiles(self, event: StoredEvent, senders: set[str]) -> dict[str, JsonObject]:
        """Each sender's display name and avatar in the room as they were at the result."""
        members = await self._visibility.state_at_event(event, event_type=EventType.MEMBER)
        profiles: dict[str, JsonObject] = {}
        for member in members:
            if member.state_key in senders:
                content = member.content
                profile: JsonObject = {
                    k: content[k] for k in ("displayname", "avatar_url") if k in content
                }
                profiles[member.state_key] = profile
        return profiles

    async def _room_state(
        self, requester: Requester, page: list[SearchHit], access: dict[str, RoomAccess]
    ) -> dict[str, list[JsonObject]]:
        """`include_state`: each result room's current state, or its state when the searcher
        left."""
        state: dict[str, list[JsonObject]] = {}
        for room_id in dict.fromkeys(hit.event.room_id for hit in page):
            events = await self._visibility.state(access[room_id], room_id)
            state[room_id] = await self._formatter.format(events, requester)
        return state


def _next_cursor(
    cursor: Cursor, window: list[SearchHit], visible: list[SearchHit], page: list[SearchHit]
) -> Cursor | None:
    """Where the next page starts, or None when there is nothing after this one."""
    if len(visible) > len(page):
        last = page[-1]
        consumed = window.index(last) + 1
    elif len(window) == WINDOW:
        last, consumed = window[-1], len(window)
    else:
        return None
    seen = cursor.seen + len(page)
    if cursor.by_rank:
        return Cursor(by_rank=True, offset=cursor.offset + consumed, seen=seen)
    return Cursor(by_rank=False, before=last.event.stream_ordering, seen=seen)


def _groups(page: list[SearchHit], keys: list[str]) -> dict[str, dict[str, GroupValue]] | None:
    """`groups`: the page's event IDs per room or sender, ordered by first appearance."""
    if not keys:
        return None
    groups: dict[str, dict[str, GroupValue]] = {}
    for key in dict.fromkeys(keys):
        values: dict[str, list[str]] = {}
        for hit in page:
            value = hit.event.room_id if key == "room_id" else hit.event.sender
            values.setdefault(value, []).append(hit.event.event_id)
        groups[key] = {
            value: GroupValue(order, ids) for order, (value, ids) in enumerate(values.items(), 1)
        }
    return groups
