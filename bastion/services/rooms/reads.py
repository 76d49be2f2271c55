"""Reading rooms: one event, state, members, /messages, /context and timestamp lookups.

Every method asks the visibility chokepoint first: `room_access` says whether the requester may
read the room at all and up to which position (a user who left reads up to their leave), and
`filter_events` removes what the history-visibility rules hide.
"""

from __future__ import annotations

from typing import Any

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.events.filters import RoomEventFilter, effective_limit, event_matches
from bastion.events.model import StoredEvent
from bastion.events.types import EventType
from bastion.services.auth import Requester
from bastion.services.rooms.formatter import EventFormatter
from bastion.services.stream_token import format_token, parse_token
from bastion.services.visibility import RoomAccess, VisibilityService
from bastion.store.database import Database
from bastion.store.protocols import EventStore, RoomStore, StateStore
from bastion.store.stream import StreamPositions

JsonObject = dict[str, Any]


class MessagesQuery(msgspec.Struct, frozen=True):
    """Parameters of `GET /rooms/{roomId}/messages`."""

    direction: str = "b"
    from_token: str | None = None
    to_token: str | None = None
    limit: int | None = None
    filter: RoomEventFilter = RoomEventFilter()


class RoomReader:
    """Read paths of the client API for one room."""

    def __init__(
        self,
        db: Database,
        visibility: VisibilityService,
        formatter: EventFormatter,
        positions: StreamPositions,
        *,
        events: EventStore,
        state: StateStore,
        rooms: RoomStore,
    ) -> None:
        self._db = db
        self._visibility = visibility
        self._formatter = formatter
        self._positions = positions
        self._events = events
        self._state = state
        self._rooms = rooms

    async def _access(self, requester: Requester, room_id: str) -> RoomAccess:
        if await self._rooms.get_room(self._db, room_id) is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room {room_id}")
        return await self._visibility.room_access(requester.user_id, room_id)

    async def get_event(self, requester: Requester, room_id: str, event_id: str) -> JsonObject:
        """`GET /rooms/{roomId}/event/{eventId}`; 404 when absent or not visible."""
        await self._access(requester, room_id)
        event = await self._events.get_event(self._db, event_id)
        event = await self._visibility.require_visible(requester.user_id, event, room_id)
        return await self._formatter.format_one(event, requester)

    async def _state_events(
        self, requester: Requester, room_id: str, at: int | None = None
    ) -> list[StoredEvent]:
        access = await self._access(requester, room_id)
        if not access.can_read_state:
            raise MatrixError(403, Errcode.FORBIDDEN, "join the room to read its state")
        limit = access.upto
        if at is not None:
            limit = at if limit is None else min(at, limit)
        if limit is None:
            return await self._state.current_state(self._db, room_id)
        return await self._state.state_at(self._db, room_id, limit)

    async def state(self, requester: Requester, room_id: str) -> list[JsonObject]:
        """`GET /rooms/{roomId}/state`: current state, or the state when the requester left."""
        return await self._formatter.format(await self._state_events(requester, room_id), requester)

    async def state_event(
        self, requester: Requester, room_id: str, event_type: str, state_key: str
    ) -> StoredEvent:
        """One state event as the requester may see it; 404 when there is none."""
        for event in await self._state_events(requester, room_id):
            if event.type == event_type and event.state_key == state_key:
                return event
        raise MatrixError(404, Errcode.NOT_FOUND, f"no {event_type} state with key {state_key!r}")

    async def format(self, event: StoredEvent, requester: Requester) -> JsonObject:
        """Client form of one event."""
        return await self._formatter.format_one(event, requester)

    async def members(
        self,
        requester: Requester,
        room_id: str,
        *,
        at: str | None,
        membership: str | None,
        not_membership: str | None,
    ) -> list[JsonObject]:
        """`GET /rooms/{roomId}/members` with `at`, `membership` and `not_membership`."""
        position = parse_token(at, name="at") if at is not None else None
        events = [
            e
            for e in await self._state_events(requester, room_id, position)
            if e.type == EventType.MEMBER
        ]
        if membership is not None:
            events = [e for e in events if e.membership == membership]
        if not_membership is not None:
            events = [e for e in events if e.membership != not_membership]
        return await self._formatter.format(events, requester)

    async def joined_members(self, requester: Requester, room_id: str) -> dict[str, JsonObject]:
        """`GET /rooms/{roomId}/joined_members`: only for members of the room."""
        access = await self._access(requester, room_id)
        if access.membership is None or access.membership.membership != "join":
            raise MatrixError(403, Errcode.FORBIDDEN, "you are not in this room")
        joined: dict[str, JsonObject] = {}
        for event in await self._state.current_state(self._db, room_id, types=[EventType.MEMBER]):
            if event.membership == "join" and event.state_key is not None:
                joined[event.state_key] = {
                    "display_name": event.content.get("displayname"),
                    "avatar_url": event.content.get("avatar_url"),
                }
        return joined

    async def messages(
        self, requester: Requester, room_id: str, query: MessagesQuery
    ) -> JsonObject:
        """`GET /rooms/{roomId}/messages`: a page of visible events in either direction."""
        if query.direction not in ("b", "f"):
            raise MatrixError(400, Errcode.INVALID_PARAM, "dir must be 'b' or 'f'")
        access = await self._access(requester, room_id)
        ceiling = access.upto if access.upto is not None else self._positions.persisted_upto()
        limit = effective_limit(query.limit, 10)
        backwards = query.direction == "b"
        start = (
            parse_token(query.from_token, name="from")
            if query.from_token
            else (ceiling if backwards else 0)
        )
        to = parse_token(query.to_token, name="to") if query.to_token else None
        if backwards:
            upper, lower = min(start, ceiling), (to or 0)
            page = await self._events.room_events_between(
                self._db, room_id, after=lower, before=upper + 1, limit=limit, newest_first=True
            )
        else:
            upper = min(to, ceiling) if to is not None else ceiling
            page = await self._events.room_events_between(
                self._db, room_id, after=start, before=upper + 1, limit=limit, newest_first=False
            )
        response: JsonObject = {"start": query.from_token or format_token(start)}
        if len(page) == limit:
            last = page[-1].stream_ordering
            response["end"] = format_token(last - 1 if backwards else last)
        visible = await self._visible(requester, page, access, query.filter)
        response["chunk"] = await self._formatter.format(visible, requester)
        if query.filter.lazy_load_members:
            response["state"] = await self._member_state(requester, room_id, visible)
        return response

    async def _visible(
        self,
        requester: Requester,
        events: list[StoredEvent],
        access: RoomAccess,
        f: RoomEventFilter,
    ) -> list[StoredEvent]:
        matching = [e for e in events if event_matches(f, e)]
        return await self._visibility.filter_events(
            requester.user_id, matching, membership=access.membership
        )

    async def _member_state(
        self, requester: Requester, room_id: str, events: list[StoredEvent]
    ) -> list[JsonObject]:
        senders = sorted({e.sender for e in events})
        keys = [(EventType.MEMBER.value, s) for s in senders]
        members = await self._state.current_events(self._db, room_id, keys)
        return await self._formatter.format(list(members.values()), requester)

    async def context(
        self,
        requester: Requester,
        room_id: str,
        event_id: str,
        *,
        limit: int | None,
        f: RoomEventFilter,
    ) -> JsonObject:
        """`GET /rooms/{roomId}/context/{eventId}`: an event, its neighbours, state at it."""
        access = await self._access(requester, room_id)
        event = await self._events.get_event(self._db, event_id)
        event = await self._visibility.require_visible(requester.user_id, event, room_id)
        total = effective_limit(limit, 10)
        ceiling = access.upto if access.upto is not None else self._positions.persisted_upto()
        position = event.stream_ordering
        before = await self._events.room_events_between(
            self._db, room_id, after=0, before=position, limit=total // 2, newest_first=True
        )
        after = await self._events.room_events_between(
            self._db,
            room_id,
            after=position,
            before=ceiling + 1,
            limit=total - total // 2,
            newest_first=False,
        )
        before_visible = await self._visible(requester, before, access, f)
        after_visible = await self._visible(requester, after, access, f)
        state = await self._state.state_at(self._db, room_id, position)
        if f.lazy_load_members:
            senders = {e.sender for e in [event, *before_visible, *after_visible]}
            state = [s for s in state if s.type != EventType.MEMBER or s.state_key in senders]
        return {
            "event": await self._formatter.format_one(event, requester),
            "events_before": await self._formatter.format(before_visible, requester),
            "events_after": await self._formatter.format(after_visible, requester),
            "start": format_token((before[-1].stream_ordering if before else position) - 1),
            "end": format_token(after[-1].stream_ordering if after else position),
            "state": await self._formatter.format(state, requester),
        }

    async def event_at_time(
        self, requester: Requester, room_id: str, ts: int, direction: str
    ) -> StoredEvent:
        """`GET /rooms/{roomId}/timestamp_to_event`: the closest visible event to `ts`."""
        if direction not in ("b", "f"):
            raise MatrixError(400, Errcode.INVALID_PARAM, "dir must be 'b' or 'f'")
        await self._access(requester, room_id)
        event = await self._events.event_near_time(self._db, room_id, ts, forwards=direction == "f")
        if event is None:
            raise MatrixError(
                404, Errcode.NOT_FOUND, f"no event {'after' if direction == 'f' else 'before'} {ts}"
            )
        return await self._visibility.require_visible(requester.user_id, event, room_id)
