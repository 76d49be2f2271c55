"""The published room directory (spec: client-server-api#published-room-directory).

Publishing: `createRoom` with `visibility: public` publishes the room in its own transaction
(services/rooms/create.py); afterwards `PUT /directory/list/room/{roomId}` may be used by a server
admin, or by a joined member whose power level lets them send `m.room.canonical_alias` (Synapse's
rule: whoever may name the room's address may list it). Unknown rooms are 404 M_NOT_FOUND.

Listing: `/publicRooms` orders published rooms by joined members, largest first, then room ID;
`next_batch`/`prev_batch` are offsets into that order (`o<offset>`). The list and every entry
come from two queries whatever the page; a search (`generic_search_term`, folded like message
search, every word must occur in the name, topic or canonical alias) or a `room_types` filter
reads the describing state of every published room, which is bounded by what admins publish.

Access: with `directory.public_rooms_require_auth` (the default) listing needs an access token;
without it anyone may list, which suits a server whose published rooms are meant for the public.
Whether one room is published is open to anyone either way (the spec gives
`GET /directory/list/room/{roomId}` no security requirement). Only this server's directory
exists: another `server` is 400 M_INVALID_PARAM.

Application services' directories: a bridge lists rooms of one of its networks with
`PUT /directory/list/appservice/{networkId}/{roomId}` (its `as_token` only), apart from the
server's directory. `/publicRooms` shows them for `third_party_instance_id` (the instance ID
`/thirdparty/protocols` gives: "appservice_id|network_id"; an unknown one, or one nobody
published under, lists nothing), or together with the server's with `include_all_networks`
(which wins over an instance ID, as in Synapse).
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.events.model import StoredEvent
from bastion.events.typed_json import NonNegativeInt
from bastion.events.types import EventType, Membership
from bastion.services.directory.room_info import (
    DESCRIBING_TYPES,
    PublishedRoom,
    RoomDescription,
    describe,
)
from bastion.services.power_levels import current_power_levels
from bastion.services.principal import Requester
from bastion.services.search.normalize import normalize
from bastion.store.database import Database
from bastion.store.protocols import (
    MembershipStore,
    PublishedRoomRow,
    RoomDirectoryStore,
    RoomStore,
    StateStore,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
_TOKEN = re.compile(r"o(\d{1,9})")


class PublicRoomsFilter(msgspec.Struct, frozen=True):
    """`filter` of `POST /publicRooms`."""

    generic_search_term: str | None = None
    room_types: list[str | None] | None = None


class PublicRoomsQuery(msgspec.Struct, frozen=True):
    """`POST /publicRooms`' body, or `GET /publicRooms`' query string."""

    limit: NonNegativeInt | None = None
    since: str | None = None
    filter: PublicRoomsFilter = PublicRoomsFilter()
    include_all_networks: bool = False
    third_party_instance_id: str | None = None


class VisibilityBody(msgspec.Struct, frozen=True):
    """Body of `PUT /directory/list/room/{roomId}`; the spec's default is `public`."""

    visibility: Literal["public", "private"] = "public"


class NetworkVisibilityBody(msgspec.Struct, frozen=True):
    """Body of `PUT /directory/list/appservice/{networkId}/{roomId}` (`visibility` required)."""

    visibility: Literal["public", "private"]


class PublicRoomsPage(msgspec.Struct, frozen=True, omit_defaults=True):
    """The `/publicRooms` response."""

    chunk: list[PublishedRoom]
    total_room_count_estimate: int
    next_batch: str | None = None
    prev_batch: str | None = None


class DirectoryAccess(msgspec.Struct, frozen=True):
    """Settings of the room directory."""

    server_name: str
    require_auth: bool


def require_reader(requester: Requester | None, access: DirectoryAccess) -> None:
    """401 M_MISSING_TOKEN when the directory needs an access token and there is none."""
    if requester is None and access.require_auth:
        raise MatrixError(401, Errcode.MISSING_TOKEN, "Missing access token")


class RoomDirectoryService:
    """Publishes rooms and lists the published ones."""

    def __init__(
        self,
        db: Database,
        store: RoomDirectoryStore,
        clock: Clock,
        access: DirectoryAccess,
        *,
        rooms: RoomStore,
        state: StateStore,
        memberships: MembershipStore,
    ) -> None:
        self._db = db
        self._store = store
        self._clock = clock
        self._access = access
        self._rooms = rooms
        self._state = state
        self._memberships = memberships

    async def visibility(self, room_id: str) -> str:
        """`public` or `private`, asked by anyone; 404 M_NOT_FOUND for an unknown room."""
        await self._require_room(room_id)
        return "public" if await self._store.is_published(self._db, room_id) else "private"

    async def set_visibility(self, requester: Requester, room_id: str, visibility: str) -> None:
        """Publish or unpublish a room (admins, or members allowed to set its address)."""
        await self._require_room(room_id)
        if not requester.is_admin:
            await self._require_power(requester.user_id, room_id)
        async with self._db.transaction() as t:
            if visibility == "public":
                await self._store.publish(t, room_id, requester.user_id, self._clock.now_ms())
            else:
                await self._store.unpublish(t, room_id)

    async def public_rooms(
        self, requester: Requester | None, query: PublicRoomsQuery, server: str | None
    ) -> PublicRoomsPage:
        """One page of the published rooms that match the filter."""
        require_reader(requester, self._access)
        if server is not None and server != self._access.server_name:
            raise MatrixError(
                400, Errcode.INVALID_PARAM, f"only {self._access.server_name}'s directory is here"
            )
        offset = _offset(query.since)
        limit = DEFAULT_LIMIT if query.limit is None else max(1, min(query.limit, MAX_LIMIT))
        network = None
        if query.third_party_instance_id is not None and not query.include_all_networks:
            network = _instance(query.third_party_instance_id)
        published = await self._store.published_rooms(
            self._db, network=network, all_networks=query.include_all_networks
        )
        f = query.filter
        if f.generic_search_term or f.room_types is not None:
            described = [d for d in await self._describe(published) if _wanted(d, f)]
            total, page = len(described), [d.entry for d in described[offset : offset + limit]]
        else:
            total = len(published)
            page = [d.entry for d in await self._describe(published[offset : offset + limit])]
        response = PublicRoomsPage(chunk=page, total_room_count_estimate=total)
        if offset + limit < total:
            response = msgspec.structs.replace(response, next_batch=f"o{offset + limit}")
        if offset > 0:
            response = msgspec.structs.replace(response, prev_batch=f"o{max(0, offset - limit)}")
        return response

    async def set_network_visibility(
        self, requester: Requester, network_id: str, room_id: str, visibility: str
    ) -> None:
        """Publish or unpublish a room in the requesting application service's directory of
        one of its networks; 403 for anyone but an application service."""
        if requester.appservice is None:
            raise MatrixError(
                403, Errcode.FORBIDDEN, "only an application service has network directories"
            )
        if not network_id or "|" in network_id:
            raise MatrixError(400, Errcode.INVALID_PARAM, f"invalid network ID {network_id!r}")
        await self._require_room(room_id)
        network = (requester.appservice, network_id)
        async with self._db.transaction() as t:
            if visibility == "public":
                await self._store.publish_for_network(t, network, room_id, self._clock.now_ms())
            else:
                await self._store.unpublish_for_network(t, network, room_id)

    async def _describe(self, rows: list[PublishedRoomRow]) -> list[RoomDescription]:
        room_ids = [r.room_id for r in rows]
        state = await self._store.current_state_of_rooms(self._db, room_ids, DESCRIBING_TYPES)
        by_room: dict[str, list[StoredEvent]] = {}
        for event in state:
            by_room.setdefault(event.room_id, []).append(event)
        return [describe(r.room_id, by_room.get(r.room_id, []), r.num_joined_members) for r in rows]

    async def _require_room(self, room_id: str) -> None:
        if await self._rooms.get_room(self._db, room_id) is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room {room_id}")

    async def _require_power(self, user_id: str, room_id: str) -> None:
        membership = await self._memberships.get_membership(self._db, user_id, room_id)
        if membership is None or membership.membership != Membership.JOIN:
            raise MatrixError(403, Errcode.FORBIDDEN, f"you are not in {room_id}")
        power = await current_power_levels(self._db, self._rooms, self._state, room_id)
        needed = power.event_level(EventType.CANONICAL_ALIAS, is_state=True)
        if power.user_level(user_id) < needed:
            raise MatrixError(
                403, Errcode.FORBIDDEN, "you need the power to set the room's address to list it"
            )


def _instance(instance_id: str) -> tuple[str, str]:
    """`(appservice_id, network_id)` of an instance ID ("appservice_id|network_id",
    services/appservices/thirdparty.py). Another form names no instance given out here: it
    lists nothing, as an instance nobody published under (the service ID "" is no service)."""
    appservice_id, _, network_id = instance_id.partition("|")
    return (appservice_id, network_id) if network_id else ("", "")


def _offset(since: str | None) -> int:
    if since is None or since == "":
        return 0
    match = _TOKEN.fullmatch(since)
    if match is None:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"invalid pagination token {since!r}")
    return int(match[1])


def _wanted(description: RoomDescription, f: PublicRoomsFilter) -> bool:
    if f.room_types is not None and description.entry.room_type not in f.room_types:
        return False
    words = normalize(f.generic_search_term or "").split()
    return description.matches(words)
