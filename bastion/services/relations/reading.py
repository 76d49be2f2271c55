"""`GET /relations/{eventId}[/{relType}[/{eventType}]]` and `GET /threads` (client API v1).

Both read through the visibility chokepoint. /relations answers 404 for a parent that does not
exist or that the requester may not see (spec), and leaves out children they may not see.
/threads answers 403 to someone who may not read the room, starts at the newest event they may
see, and leaves out roots they may not see. Pages are cut before visibility filtering, so a page
may be short, but tokens never skip or repeat a child.

Tokens are stream tokens (`s<position>`, "after the event at this position"), so /messages and
/sync tokens work as `from`/`to` too, as the spec allows.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from bastion.events.filters import effective_limit
from bastion.events.typed_json import NonNegativeInt
from bastion.json_types import JsonObject
from bastion.services.formatting.formatter import EventFormatter
from bastion.services.principal import Requester
from bastion.services.stream_token import format_token, parse_token
from bastion.services.visibility import VisibilityService
from bastion.store.database import Database
from bastion.store.protocols import ChildrenQuery
from bastion.store.stream import PositionAllocator

# spec: homeservers SHOULD traverse at least 3 levels when `recurse` is set.
RECURSION_DEPTH = 3
DEFAULT_LIMIT = 20


class RelationsQuery(
    msgspec.Struct,
    frozen=True,
    rename={"from_token": "from", "to_token": "to", "direction": "dir"},
):
    """Query parameters of `GET /rooms/{roomId}/relations/{eventId}`; the path's optional
    `relType` and `eventType` become `rel_type` and `event_type`."""

    from_token: str | None = None
    to_token: str | None = None
    limit: NonNegativeInt | None = None
    direction: Literal["b", "f"] = "b"
    recurse: bool | None = None  # None: not given, so no `recursion_depth` in the response
    rel_type: str | None = None
    event_type: str | None = None


class ThreadsQuery(msgspec.Struct, frozen=True, rename={"from_token": "from"}):
    """Query parameters of `GET /rooms/{roomId}/threads`."""

    include: Literal["all", "participated"] = "all"
    from_token: str | None = None
    limit: NonNegativeInt | None = None


class RelationsReader:
    """Child events of a parent, and the threads of a room."""

    def __init__(
        self,
        db: Database,
        visibility: VisibilityService,
        formatter: EventFormatter,
        positions: PositionAllocator,
    ) -> None:
        self._db = db
        self._visibility = visibility
        self._formatter = formatter
        self._positions = positions

    async def relations(
        self, requester: Requester, room_id: str, event_id: str, query: RelationsQuery
    ) -> JsonObject:
        """A page of the children of `event_id`, newest first unless `dir=f`."""
        viewer = requester.user_id
        await self._visibility.visible_event(viewer, room_id, event_id)
        limit = effective_limit(query.limit, DEFAULT_LIMIT)
        backwards = query.direction == "b"
        after, before = self._bounds(query, backwards)
        depth = RECURSION_DEPTH if query.recurse else 1
        page = await self._visibility.children(
            viewer,
            ChildrenQuery(
                parent_id=event_id,
                room_id=room_id,
                after=after,
                before=before,
                limit=limit,
                newest_first=backwards,
                max_depth=depth,
                rel_type=query.rel_type,
                event_type=query.event_type,
            ),
        )
        response: JsonObject = {}
        last = page.oldest if backwards else page.newest
        if page.limited and last is not None:
            response["next_batch"] = format_token(last - 1 if backwards else last)
        if query.from_token is not None:
            response["prev_batch"] = query.from_token
        if query.recurse is not None:
            response["recursion_depth"] = depth  # spec: present exactly when `recurse` was given
        response["chunk"] = await self._formatter.format(page.visible, requester)
        return response

    def _bounds(self, query: RelationsQuery, backwards: bool) -> tuple[int, int]:
        """(after, before): the open interval of stream positions the page comes from."""
        ceiling = self._positions.persisted_upto()
        start = parse_token(query.from_token, name="from") if query.from_token else None
        end = parse_token(query.to_token, name="to") if query.to_token else None
        if backwards:
            upper = ceiling if start is None else min(start, ceiling)
            return (end or 0), upper + 1
        upper = ceiling if end is None else min(end, ceiling)
        return (start or 0), upper + 1

    async def threads(self, requester: Requester, room_id: str, query: ThreadsQuery) -> JsonObject:
        """A page of the room's thread roots, the most recently active thread first."""
        viewer = requester.user_id
        access = await self._visibility.room_access(viewer, room_id)
        ceiling = access.upto if access.upto is not None else self._positions.persisted_upto()
        upto = ceiling
        if query.from_token:
            upto = min(parse_token(query.from_token, name="from"), ceiling)
        limit = effective_limit(query.limit, DEFAULT_LIMIT)
        participant = viewer if query.include == "participated" else None
        roots, more = await self._visibility.thread_roots(
            viewer, access, room_id, upto=upto, limit=limit, participant=participant
        )
        response: JsonObject = {}
        if more is not None:
            response["next_batch"] = format_token(more - 1)
        response["chunk"] = await self._formatter.format(roots.visible, requester)
        return response
