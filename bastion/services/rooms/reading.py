"""Reading rooms: one event, state, members, /messages, /context and timestamp lookups.

Every method reads through the visibility door (services/visibility.py), which fetches and
checks in one call: `room_access` says whether the requester may read the room at all and up to
which position (a user who left reads up to their leave), and each page, event or state read
comes back with what the history-visibility rules hide already removed. With `as_admin` (a
server admin through the admin API, services/admin/room_reading.py) the access is the door's
`RoomAccess.for_admin`: every event of the room, what retention expired still hidden.
"""

from __future__ import annotations

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.events.filters import RoomEventFilter, effective_limit
from bastion.events.model import StoredEvent
from bastion.events.types import EventType
from bastion.json_types import JsonObject
from bastion.services.formatting.formatter import EventFormatter
from bastion.services.principal import Requester
from bastion.services.stream_token import format_token, parse_token
from bastion.services.visibility import RoomAccess, Span, VisibilityService
from bastion.store.database import Database
from bastion.store.protocols import RoomStore
from bastion.store.stream import PositionAllocator


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
        positions: PositionAllocator,
        *,
        rooms: RoomStore,
    ) -> None:
        self._db = db
        self._visibility = visibility
        self._formatter = formatter
        self._positions = positions
        self._rooms = rooms

    async def _access(
        self, requester: Requester, room_id: str, *, as_admin: bool = False
    ) -> RoomAccess:
        if as_admin:
            requester.require_admin()
        if await self._rooms.get_room(self._db, room_id) is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room {room_id}")
        if as_admin:
            return RoomAccess.for_admin()
        return await self._visibility.room_access(requester.user_id, room_id)

    async def get_event(self, requester: Requester, room_id: str, event_id: str) -> JsonObject:
        """`GET /rooms/{roomId}/event/{eventId}`; 404 when absent or not visible."""
        await self._access(requester, room_id)
        event = await self._visibility.visible_event(requester.user_id, room_id, event_id)
        return await self._formatter.format_one(event, requester)

    async def get_event_by_id(self, requester: Requester, event_id: str) -> JsonObject:
        """`GET /events/{eventId}` (deprecated since r0 for the form above): the event from
        whichever room holds it, if the requester may see it there. 404 M_NOT_FOUND alike for
        an absent event and a hidden one, so the answer tells nobody what another room holds."""
        event = (await self._visibility.visible_events(requester.user_id, [event_id])).get(event_id)
        if event is None:
            raise MatrixError(404, Errcode.NOT_FOUND, "event not found")
        return await self._formatter.format_one(event, requester)

    async def _state_events(
        self, requester: Requester, room_id: str, at: int | None = None
    ) -> list[StoredEvent]:
        access = await self._access(requester, room_id)
        if not access.can_read_state:
            raise MatrixError(403, Errcode.FORBIDDEN, "join the room to read its state")
        return await self._visibility.state(access, room_id, at=at)

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
        for event in await self._visibility.state(access, room_id, event_type=EventType.MEMBER):
            if event.membership == "join" and event.state_key is not None:
                joined[event.state_key] = {
                    "display_name": event.content.get("displayname"),
                    "avatar_url": event.content.get("avatar_url"),
                }
        return joined

    async def messages(
        self, requester: Requester, room_id: str, query: MessagesQuery, *, as_admin: bool = False
    ) -> JsonObject:
        """`GET /rooms/{roomId}/messages`: a page of visible events in either direction."""
        if query.direction not in ("b", "f"):
            raise MatrixError(400, Errcode.INVALID_PARAM, "dir must be 'b' or 'f'")
        access = await self._access(requester, room_id, as_admin=as_admin)
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
            span = Span(lower, upper + 1, limit, newest_first=True)
        else:
            upper = min(to, ceiling) if to is not None else ceiling
            span = Span(start, upper + 1, limit, newest_first=False)
        page = await self._visibility.page(requester.user_id, access, room_id, span, query.filter)
        response: JsonObject = {"start": query.from_token or format_token(start)}
        last = page.oldest if backwards else page.newest
        # `end` whenever the page read any event, even a short page that reached the room's
        # end: the next request then comes back empty and without `end` (the spec's "omitted"
        # when no further events are available). Synapse answers so, and clients rely on it:
        # mautrix's get_messages fails on a page without `end`.
        if page.fetched > 0 and last is not None:
            response["end"] = format_token(last - 1 if backwards else last)
        response["chunk"] = await self._formatter.format(page.visible, requester)
        if query.filter.lazy_load_members:
            senders = sorted({e.sender for e in page.visible})
            members = await self._visibility.member_state(access, room_id, senders)
            response["state"] = await self._formatter.format(members, requester)
        return response

    async def context(
        self,
        requester: Requester,
        room_id: str,
        event_id: str,
        *,
        limit: int | None,
        f: RoomEventFilter,
        as_admin: bool = False,
    ) -> JsonObject:
        """`GET /rooms/{roomId}/context/{eventId}`: an event, its neighbours, state at it."""
        viewer = requester.user_id
        access = await self._access(requester, room_id, as_admin=as_admin)
        event = await self._visibility.visible_event(viewer, room_id, event_id, access=access)
        total = effective_limit(limit, 10)
        ceiling = access.upto if access.upto is not None else self._positions.persisted_upto()
        position = event.stream_ordering
        before = await self._visibility.page(
            viewer, access, room_id, Span(0, position, total // 2, newest_first=True), f
        )
        after = await self._visibility.page(
            viewer, access, room_id, Span(position, ceiling + 1, total - total // 2, False), f
        )
        state = await self._visibility.state_at_event(event)
        if f.lazy_load_members:
            senders = {e.sender for e in [event, *before.visible, *after.visible]}
            state = [s for s in state if s.type != EventType.MEMBER or s.state_key in senders]
        return {
            "event": await self._formatter.format_one(event, requester),
            "events_before": await self._formatter.format(before.visible, requester),
            "events_after": await self._formatter.format(after.visible, requester),
            "start": format_token(_or(before.oldest, position) - 1),
            "end": format_token(_or(after.newest, position)),
            "state": await self._formatter.format(state, requester),
        }

    async def event_at_time(
        self, requester: Requester, room_id: str, ts: int, direction: str,
        *, as_admin: bool = False,
    ) -> StoredEvent:  # fmt: skip
        """`GET /rooms/{roomId}/timestamp_to_event`: the closest visible event to `ts`."""
        if direction not in ("b", "f"):
            raise MatrixError(400, Errcode.INVALID_PARAM, "dir must be 'b' or 'f'")
        access = await self._access(requester, room_id, as_admin=as_admin)
        event = await self._visibility.event_near_time(
            requester.user_id, room_id, ts, forwards=direction == "f", access=access
        )
        if event is None:
            raise MatrixError(
                404, Errcode.NOT_FOUND, f"no event {'after' if direction == 'f' else 'before'} {ts}"
            )
        return event


def _or(position: int | None, default: int) -> int:
    return default if position is None else position
