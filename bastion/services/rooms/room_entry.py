"""Putting a local account into a room for someone else: an admin (Synapse's
`POST /_synapse/admin/v1/join/{roomIdOrAlias}`) or the identity provider (a SCIM group linked to
rooms: services/scim/group_rooms.py).

The server holds no power of its own in a room (as for promotions: services/rooms/promotion.py),
so nothing is forged and the room's auth rules and hooks hold as for a client:
- a room anyone may join (`public`) is joined by the account itself, its own join event;
- any other room is entered by invitation first: a joined local member whose power reaches the
  room's `invite` level (the most powerful first) invites, then the account joins. No such
  member, a ban, a blocked room, a suspended account: the refusal is the answer (403 with the
  reason), and nothing is half done: an invitation sent for a join then refused is declined by
  the account at once. The account's invite blocking does not refuse that invitation
  (services/invite_permission.py): it is the organisation's step, not a person's invite;
- an account already joined is left as it is.

An admin's join is audited `room.force_join` (refusals too, as failed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bastion.errors import Errcode, MatrixError
from bastion.events.types import EventType, Membership
from bastion.ids import UserID
from bastion.services.audit.trail import AuditTrail
from bastion.services.invite_permission import organisation_entry
from bastion.services.power_levels import current_power_levels
from bastion.services.principal import Principal, Requester, log_admin_action
from bastion.services.rooms.membership import MembershipService
from bastion.store.database import Database
from bastion.store.protocols import MembershipStore, RoomStore, StateStore, UserStore

FORCE_JOIN = "room.force_join"

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EntryStores:
    """The room stores an entry reads (the room, its rules and power, who is in it)."""

    rooms: RoomStore
    state: StateStore
    memberships: MembershipStore
    users: UserStore


def acting_as(user_id: str) -> Requester:
    """The server acting for a local account in its own membership (never an admin)."""
    return Requester(user_id, "", is_admin=False)


class RoomEntry:
    """Joins local accounts to rooms on someone else's behalf."""

    def __init__(
        self,
        db: Database,
        membership: MembershipService,
        stores: EntryStores,
        audit: AuditTrail,
        *,
        server_name: str,
    ) -> None:
        self._db, self._membership, self._stores, self._audit = db, membership, stores, audit
        self._server_name = server_name

    async def enter(self, user_id: str, room_id: str, reason: str) -> bool:
        """Join `user_id` to `room_id`, invited first unless the room is public; False when
        they were joined already. Raises the room's refusal (MatrixError)."""
        current = await self._stores.memberships.get_membership(self._db, user_id, room_id)
        if current is not None and current.membership == Membership.JOIN:
            return False
        invited = False
        if current is None or current.membership != Membership.INVITE:
            with organisation_entry():  # not a person's invite: invite blocking passes it
                invited = await self._invite_unless_public(user_id, room_id, reason)
        try:
            await self._membership.join(acting_as(user_id), room_id, reason)
        except MatrixError:
            if invited:
                await self._withdraw(user_id, room_id)
            raise
        return True

    async def _withdraw(self, user_id: str, room_id: str) -> None:
        """The join was refused after our invitation (a suspended account, a hook): the
        account declines it, as it always may, so the refusal leaves nothing behind (no
        invitation in the person's list that nobody meant them to act on). If even that is
        refused, the invitation stays and the join's refusal is still the answer."""
        try:
            await self._membership.leave(acting_as(user_id), room_id, "the join was refused")
        except MatrixError as exc:
            _log.warning("invitation to %s for %s left in place: %s", room_id, user_id, exc)

    async def force_join(self, actor: Principal, room_id_or_alias: str, user_id: str) -> str:
        """An admin's join of a local account into a room (by ID or local alias); the room ID.
        400 for another server's user or a deactivated account, 404 for an unknown one or an
        unknown room."""
        actor.require_admin()
        async with self._audit.attempt(actor, FORCE_JOIN, room_id_or_alias):
            await self._require_local_account(user_id)
            room_id = await self._membership.resolve_room(room_id_or_alias)
            if await self._stores.rooms.get_room(self._db, room_id) is None:
                raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room {room_id}")
            joined = await self.enter(user_id, room_id, f"added by {actor.audit_id}")
            details = {"user_id": user_id, "outcome": "joined" if joined else "already joined"}
            await self._audit.record_alone(actor, FORCE_JOIN, room_id, details)
        log_admin_action(actor, f"joined {user_id} to {room_id}")
        return room_id

    async def _require_local_account(self, user_id: str) -> None:
        parsed = UserID.parse(user_id)  # 400 M_INVALID_PARAM when it is not a user ID
        if parsed.server_name != self._server_name:
            raise MatrixError(
                400, Errcode.INVALID_PARAM, "This endpoint can only be used with local users"
            )
        user = await self._stores.users.get_user(self._db, user_id)
        if user is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"unknown user {user_id}")
        if user.is_deactivated:
            raise MatrixError(400, Errcode.INVALID_PARAM, f"{user_id} is deactivated")

    async def _invite_unless_public(self, user_id: str, room_id: str, reason: str) -> bool:
        """Invite through a local member with power unless the room lets anyone join; whether
        an invitation was sent."""
        key = (EventType.JOIN_RULES, "")
        rule_event = (await self._stores.state.current_events(self._db, room_id, [key])).get(key)
        if rule_event is not None and rule_event.content.get("join_rule") == "public":
            return False
        inviter = await self._inviter(room_id)
        if inviter is None:
            raise MatrixError(403, Errcode.FORBIDDEN, f"no local member can invite to {room_id}")
        await self._membership.invite(acting_as(inviter), room_id, user_id, reason)
        return True

    async def _inviter(self, room_id: str) -> str | None:
        """The joined local member with the most power, if it reaches the `invite` level."""
        levels = await current_power_levels(
            self._db, self._stores.rooms, self._stores.state, room_id
        )
        joined = await self._stores.memberships.members(self._db, room_id, [Membership.JOIN])
        local = f":{self._server_name}"
        able = [m for m in joined if m.endswith(local) and levels.user_level(m) >= levels.invite]
        able.sort(key=levels.user_level, reverse=True)
        return able[0] if able else None
