"""Membership changes: join, invite, leave, kick, ban, unban, knock, forget.

Each builds one m.room.member event and hands it to the pipeline, whose auth rules decide;
these methods only add what the rules cannot know (the target account exists, unban needs a
banned target, forget needs the user to be out of the room).
"""

from __future__ import annotations

from bastion.errors import Errcode, MatrixError
from bastion.events.builder import EventDraft
from bastion.events.join_rules import JOIN_AUTHORISER
from bastion.events.types import EventType, Membership
from bastion.ids import UserID
from bastion.json_types import JsonObject
from bastion.services.principal import Requester
from bastion.services.rooms.aliases import ServiceNamespaces
from bastion.services.rooms.create import RoomCreator
from bastion.services.rooms.pipeline import EventPipeline
from bastion.services.rooms.restricted_joins import RestrictedJoins
from bastion.services.shadow_ban import dropped
from bastion.store.database import Database
from bastion.store.protocols import MembershipStore, RoomStore, UserStore


class MembershipService:
    """Room membership operations of the client API."""

    def __init__(
        self,
        db: Database,
        pipeline: EventPipeline,
        creator: RoomCreator,
        *,
        rooms: RoomStore,
        memberships: MembershipStore,
        users: UserStore,
        namespaces: ServiceNamespaces | None = None,
        restricted: RestrictedJoins | None = None,
    ) -> None:
        """`namespaces`: application services to ask about an invitee or alias that does not
        exist yet (services/appservices/queries.py); `restricted`: who may join a restricted
        room without an invite (restricted_joins.py; without it, only the invited)."""
        self._namespaces = namespaces
        self._restricted = restricted
        self._db = db
        self._pipeline = pipeline
        self._creator = creator
        self._rooms = rooms
        self._memberships = memberships
        self._users = users

    async def resolve_room(self, room_id_or_alias: str) -> str:
        """A room ID, resolving a local alias; 404 M_NOT_FOUND for an unknown one."""
        if room_id_or_alias.startswith("#"):
            found = await self._rooms.get_alias(self._db, room_id_or_alias)
            ask = self._namespaces  # a bridge's portal, made by its service when asked?
            if found is None and ask is not None and await ask.query_alias(room_id_or_alias):
                found = await self._rooms.get_alias(self._db, room_id_or_alias)
            if found is None:
                raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room alias {room_id_or_alias}")
            return found[0]
        if not room_id_or_alias.startswith("!"):
            raise MatrixError(
                400, Errcode.INVALID_PARAM, f"{room_id_or_alias!r} is not a room ID or alias"
            )
        return room_id_or_alias

    async def join(
        self, requester: Requester, room_id_or_alias: str, reason: str | None = None
    ) -> str:
        """Join (or accept an invite); joining a room one is already in changes nothing. A
        restricted room is joined in the name of a member who may invite, when the requester
        meets its conditions (restricted_joins.py)."""
        room_id = await self.resolve_room(room_id_or_alias)
        user_id = requester.user_id
        current = await self._memberships.get_membership(self._db, user_id, room_id)
        if current is not None and current.membership == Membership.JOIN:
            return room_id
        extra: JsonObject = {}
        uninvited = current is None or current.membership in (Membership.LEAVE, Membership.KNOCK)
        if self._restricted is not None and uninvited:
            authoriser = await self._restricted.authoriser(room_id)
            if authoriser is not None:
                extra[JOIN_AUTHORISER] = authoriser
        await self._change(user_id, user_id, room_id, Membership.JOIN, reason, extra)
        return room_id

    async def knock(
        self, requester: Requester, room_id_or_alias: str, reason: str | None = None
    ) -> str:
        """Ask to be let into a room whose join rule is `knock`."""
        room_id = await self.resolve_room(room_id_or_alias)
        await self._change(requester.user_id, requester.user_id, room_id, Membership.KNOCK, reason)
        return room_id

    async def invite(
        self, requester: Requester, room_id: str, user_id: str, reason: str | None = None
    ) -> None:
        """Invite a user of this server (a shadow-banned requester's invite is answered and
        dropped, services/shadow_ban.py)."""
        await self._require_local_user(user_id)
        if dropped(requester, "an invite of %s to %s", user_id, room_id):
            return
        await self._change(requester.user_id, user_id, room_id, Membership.INVITE, reason)

    async def leave(self, requester: Requester, room_id: str, reason: str | None = None) -> None:
        """Leave a room, reject an invite or withdraw a knock."""
        await self._change(requester.user_id, requester.user_id, room_id, Membership.LEAVE, reason)

    async def kick(
        self, requester: Requester, room_id: str, user_id: str, reason: str | None = None
    ) -> None:
        """Remove someone from the room (they may come back if the join rules allow)."""
        UserID.parse(user_id)
        current = await self._memberships.get_membership(self._db, user_id, room_id)
        if current is None or current.membership not in (
            Membership.JOIN,
            Membership.INVITE,
            Membership.KNOCK,
        ):
            await self._require_room(room_id)
            raise MatrixError(403, Errcode.FORBIDDEN, f"{user_id} is not in the room")
        await self._change(requester.user_id, user_id, room_id, Membership.LEAVE, reason)

    async def ban(
        self, requester: Requester, room_id: str, user_id: str, reason: str | None = None
    ) -> None:
        """Ban someone: they leave and cannot come back until unbanned."""
        UserID.parse(user_id)
        await self._change(requester.user_id, user_id, room_id, Membership.BAN, reason)

    async def unban(
        self, requester: Requester, room_id: str, user_id: str, reason: str | None = None
    ) -> None:
        """Lift a ban (the user is then `leave` and may rejoin)."""
        UserID.parse(user_id)
        current = await self._memberships.get_membership(self._db, user_id, room_id)
        if current is None or current.membership != Membership.BAN:
            await self._require_room(room_id)
            raise MatrixError(403, Errcode.FORBIDDEN, f"{user_id} is not banned")
        await self._change(requester.user_id, user_id, room_id, Membership.LEAVE, reason)

    async def forget(self, requester: Requester, room_id: str) -> None:
        """Hide a room one has left from sync; 400 while still in it."""
        current = await self._memberships.get_membership(self._db, requester.user_id, room_id)
        if current is None:
            await self._require_room(room_id)
            return
        if current.membership in (Membership.JOIN, Membership.INVITE, Membership.KNOCK):
            raise MatrixError(400, Errcode.UNKNOWN, "leave the room before forgetting it")
        async with self._db.transaction() as t:
            await self._memberships.forget(t, requester.user_id, room_id)

    async def joined_rooms(self, requester: Requester) -> list[str]:
        """Rooms the requester is joined to."""
        records = await self._memberships.rooms_of_user(
            self._db, requester.user_id, [Membership.JOIN]
        )
        return [r.room_id for r in records]

    async def _change(
        self,
        sender: str,
        target: str,
        room_id: str,
        membership: str,
        reason: str | None,
        extra: JsonObject | None = None,
    ) -> None:
        content = await self._creator.member_content(target, membership) if membership in (
            Membership.JOIN, Membership.INVITE
        ) else {"membership": membership}  # fmt: skip
        if reason:
            content["reason"] = reason
        content.update(extra or {})
        await self._pipeline.send(room_id, EventDraft(EventType.MEMBER, sender, content, target))

    async def _require_local_user(self, user_id: str) -> None:
        parsed = UserID.parse(user_id)
        user = await self._users.get_user(self._db, user_id)
        ask = self._namespaces  # a bridged person's ghost, made by its service when asked?
        if user is None and ask is not None and await ask.query_user(user_id):
            user = await self._users.get_user(self._db, user_id)
        if parsed.server_name != self._pipeline.server_name or user is None or user.is_deactivated:
            raise MatrixError(404, Errcode.NOT_FOUND, f"unknown user {user_id}")

    async def _require_room(self, room_id: str) -> None:
        if await self._rooms.get_room(self._db, room_id) is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room {room_id}")
