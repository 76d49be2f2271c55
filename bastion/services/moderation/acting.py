"""How the server gets the power to moderate a room it did not create: it acts as the
organisation's moderation account (policy `rooms.moderator`), never as itself and never by
forging events. Every event it writes is an ordinary event of that account, built and checked
by the pipeline under the room version's auth rules, so it stays valid when federation comes.

To act in a room (`act_in`), in this order, each step only when needed:
1. the moderation account must be configured and be an active local account: otherwise 400
   M_INVALID_PARAM naming the policy setting (`rooms.moderator`), and nothing is written;
2. power: below the level a redaction of others' events needs, it is promoted to 100 through
   `RoomPromoter.promote` (a local joined member with the power grants it, and invites the
   account if needed). No such member: the promoter's 403 M_FORBIDDEN stands (for instance a
   v7-v11 room where nobody has power left, or a v12 room whose creators all left, unless the
   account is itself a creator). Promotion comes before joining, so a room the account cannot
   get power in is left untouched;
3. membership: a banned account is refused (403: unbanning is a decision for the room); an
   invited one joins; otherwise it joins a public room directly, or is invited by a local
   joined member whom the auth rules allow to invite, then joins (the server joins it on its
   behalf: it is a local account). No member can invite: 403 M_FORBIDDEN naming the room.
A v12 room whose policy made the account an additional creator needs only step 3.
"""

from __future__ import annotations

from typing import Protocol

from bastion.errors import Errcode, MatrixError
from bastion.events.builder import EventDraft
from bastion.events.power_levels import PowerLevels
from bastion.events.types import EventType, Membership
from bastion.ids import UserID
from bastion.services.moderation.room_facts import RoomFacts
from bastion.services.policy.service import PolicyService
from bastion.services.principal import Principal
from bastion.services.rooms.create import RoomCreator
from bastion.services.rooms.pipeline import EventPipeline
from bastion.store.database import Database
from bastion.store.protocols import MembershipStore, UserStore

MODERATOR_SETTING = "rooms.moderator"
PROMOTED_LEVEL = 100


class Promoter(Protocol):
    """`RoomPromoter.promote` (services/rooms/promotion.py)."""

    async def promote(
        self, actor: Principal, room_id: str, user_id: str, *, level: int = 100
    ) -> object: ...


def redact_level(levels: PowerLevels) -> int:
    """The level needed to redact other users' events (and to send the redaction at all)."""
    return max(levels.redact, levels.event_level(EventType.REDACTION, is_state=False))


class ModeratorAccess:
    """Gets the moderation account into a room, with the power to moderate it."""

    def __init__(
        self,
        db: Database,
        pipeline: EventPipeline,
        *,
        promoter: Promoter,
        policy: PolicyService,
        facts: RoomFacts,
        creator: RoomCreator,
        memberships: MembershipStore,
        users: UserStore,
    ) -> None:
        self._db, self._pipeline, self._promoter, self._policy = db, pipeline, promoter, policy
        self._facts, self._creator = facts, creator
        self._memberships, self._users = memberships, users

    async def moderator(self) -> str:
        """The moderation account; 400 naming the policy setting when there is none usable."""
        moderator = (await self._policy.current()).rooms.moderator
        if moderator is None:
            raise MatrixError(
                400,
                Errcode.INVALID_PARAM,
                f"No moderation account is configured: set {MODERATOR_SETTING} in the "
                "organisation policy (PUT /_bastion/admin/v1/policy) to a local account",
            )
        user = await self._users.get_user(self._db, moderator)
        local = UserID.parse(moderator).server_name == self._pipeline.server_name
        if not local or user is None or user.is_deactivated:
            raise MatrixError(
                400,
                Errcode.INVALID_PARAM,
                f"{MODERATOR_SETTING} is {moderator}, which is not an active account of this "
                "server",
            )
        return moderator

    async def act_in(self, actor: Principal, room_id: str) -> str:
        """Make the moderation account a joined member able to redact others; returns it."""
        moderator = await self.moderator()
        levels = await self._facts.power_levels(room_id)  # 404 for an unknown room
        current = await self._memberships.get_membership(self._db, moderator, room_id)
        if current is not None and current.membership == Membership.BAN:
            raise MatrixError(
                403,
                Errcode.FORBIDDEN,
                f"the moderation account {moderator} is banned from {room_id}; unban it first",
            )
        if levels.user_level(moderator) < redact_level(levels):
            await self._promoter.promote(actor, room_id, moderator, level=PROMOTED_LEVEL)
        await self._join(room_id, moderator)
        return moderator

    async def _join(self, room_id: str, moderator: str) -> None:
        # Read again: a promotion may have invited the account.
        current = await self._memberships.get_membership(self._db, moderator, room_id)
        state = current.membership if current is not None else None
        if state == Membership.JOIN:
            return
        if state != Membership.INVITE and await self._facts.join_rule(room_id) != "public":
            await self._invite(room_id, moderator)
        content = await self._creator.member_content(moderator, Membership.JOIN)
        await self._pipeline.send(
            room_id, EventDraft(EventType.MEMBER, moderator, content, moderator)
        )

    async def _invite(self, room_id: str, moderator: str) -> None:
        """Invite as a local joined member the auth rules let invite (the most powerful)."""
        levels = await self._facts.power_levels(room_id)
        joined = await self._memberships.members(self._db, room_id, [Membership.JOIN])
        local = f":{self._pipeline.server_name}"
        able = [u for u in joined if u.endswith(local) and levels.user_level(u) >= levels.invite]
        if not able:
            raise MatrixError(
                403,
                Errcode.FORBIDDEN,
                f"no member of {room_id} on this server can invite the moderation account",
            )
        inviter = max(able, key=lambda u: (levels.user_level(u), u))
        content = await self._creator.member_content(moderator, Membership.INVITE)
        await self._pipeline.send(
            room_id, EventDraft(EventType.MEMBER, inviter, content, moderator)
        )
