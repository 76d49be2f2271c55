"""Room aliases: `#name:server` pointing at a room (spec: client-server-api#room-aliases)."""

from __future__ import annotations

from typing import Protocol

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.events.types import EventType
from bastion.services.power_levels import current_power_levels
from bastion.services.principal import Requester
from bastion.services.visibility import VisibilityService
from bastion.store.database import Database
from bastion.store.protocols import RoomStore, StateStore


class ServiceNamespaces(Protocol):
    """Application services' namespaces (services/appservices/queries.py): aliases reserved
    (400 M_EXCLUSIVE for anyone but `creator`, a service's ID), and the services to ask about
    a user or alias that does not exist yet (True: the service created it meanwhile)."""

    def check_alias_creation(self, alias: str, creator: str | None) -> None: ...
    async def query_user(self, user_id: str) -> bool: ...
    async def query_alias(self, alias: str) -> bool: ...


class AliasService:
    """Creating, resolving and deleting local room aliases."""

    def __init__(
        self,
        db: Database,
        rooms: RoomStore,
        state: StateStore,
        visibility: VisibilityService,
        clock: Clock,
        server_name: str,
        *,
        reserved: ServiceNamespaces | None = None,
    ) -> None:
        self._db = db
        self._reserved = reserved
        self._rooms = rooms
        self._state = state
        self._visibility = visibility
        self._clock = clock
        self._server_name = server_name

    def _check_alias(self, alias: str) -> None:
        localpart, _, server = alias[1:].partition(":")
        if (
            not alias.startswith("#")
            or not localpart
            or server != self._server_name
            or len(alias) > 255
        ):
            raise MatrixError(
                400, Errcode.INVALID_PARAM, f"{alias!r} is not an alias on {self._server_name}"
            )

    async def create(self, requester: Requester, alias: str, room_id: str) -> None:
        """Point a new alias at a room the requester is in; 409 if the alias exists."""
        self._check_alias(alias)
        if self._reserved is not None:
            self._reserved.check_alias_creation(alias, requester.appservice)
        if await self._rooms.get_room(self._db, room_id) is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room {room_id}")
        access = await self._visibility.room_access(requester.user_id, room_id)
        if access.upto is not None:
            raise MatrixError(403, Errcode.FORBIDDEN, "you must be in the room to alias it")
        async with self._db.transaction() as t:
            inserted = await self._rooms.insert_alias(
                t, alias, room_id, requester.user_id, self._clock.now_ms()
            )
        if not inserted:
            raise MatrixError(409, Errcode.UNKNOWN, f"room alias {alias} already exists")

    async def resolve(self, alias: str) -> str:
        """The room an alias points at; 404 M_NOT_FOUND if none (after asking the service
        whose namespace it is in, if any)."""
        found = await self._rooms.get_alias(self._db, alias)
        if found is None and self._reserved is not None and await self._reserved.query_alias(alias):
            found = await self._rooms.get_alias(self._db, alias)
        if found is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room alias {alias}")
        return found[0]

    async def delete(self, requester: Requester, alias: str) -> None:
        """Remove an alias: its creator, a room moderator or a server admin may."""
        found = await self._rooms.get_alias(self._db, alias)
        if found is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room alias {alias}")
        room_id, creator = found
        if requester.user_id != creator and not requester.is_admin:
            await self._require_state_power(requester.user_id, room_id)
        async with self._db.transaction() as t:
            await self._rooms.delete_alias(t, alias)

    async def aliases(self, requester: Requester, room_id: str) -> list[str]:
        """Local aliases of a room the requester may read."""
        if await self._rooms.get_room(self._db, room_id) is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room {room_id}")
        await self._visibility.room_access(requester.user_id, room_id)
        return await self._rooms.aliases_of_room(self._db, room_id)

    async def _require_state_power(self, user_id: str, room_id: str) -> None:
        try:
            power = await current_power_levels(self._db, self._rooms, self._state, room_id)
        except MatrixError:
            power = None
        needed = power.event_level(EventType.CANONICAL_ALIAS, is_state=True) if power else 0
        if power is None or power.user_level(user_id) < needed:
            raise MatrixError(403, Errcode.FORBIDDEN, "you may not remove this alias")
