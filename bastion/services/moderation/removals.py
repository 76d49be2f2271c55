"""Removing a member from a room for an admin: a kick sent by the organisation's moderation
account (the admin console's "remove member").

The server holds no power of its own in a room, so a removal is an ordinary `m.room.member`
`leave` event whose sender is the moderation account (acting.py first gets it in, with the power
to moderate), built and checked by the pipeline under the room version's auth rules: a member
whose power is not below the account's cannot be removed (the auth rules' 403 stands), and
nothing is forged. Only a member who is joined, invited or knocking can be removed (403
otherwise, before the moderation account is touched).

Audit: `room.kick` (target: the removed user) commits in the kick event's own transaction; a
refused or failed attempt is recorded as failed (services/audit/trail.py). Admins only.
"""

from __future__ import annotations

from typing import Any

from bastion.errors import Errcode, MatrixError
from bastion.events.builder import EventDraft
from bastion.events.model import StoredEvent
from bastion.events.types import EventType, Membership
from bastion.ids import UserID
from bastion.services.audit.trail import AuditTrail
from bastion.services.moderation.acting import ModeratorAccess
from bastion.services.principal import Principal, log_admin_action
from bastion.services.rooms.pipeline import EventPipeline
from bastion.store.database import Database, Queryable
from bastion.store.protocols import MembershipStore

ACTION = "room.kick"
_REMOVABLE = (Membership.JOIN, Membership.INVITE, Membership.KNOCK)


class AdminRemovals:
    """Removes members from rooms, as the moderation account."""

    def __init__(
        self,
        db: Database,
        pipeline: EventPipeline,
        *,
        access: ModeratorAccess,
        memberships: MembershipStore,
        audit: AuditTrail,
    ) -> None:
        self._db, self._pipeline, self._access = db, pipeline, access
        self._memberships, self._audit = memberships, audit

    async def remove_member(
        self, actor: Principal, room_id: str, user_id: str, reason: str | None
    ) -> str:
        """Kick `user_id` out of `room_id`; returns the kick event's ID."""
        actor.require_admin()
        async with self._audit.attempt(actor, ACTION, user_id):
            UserID.parse(user_id)
            current = await self._memberships.get_membership(self._db, user_id, room_id)
            if current is None or current.membership not in _REMOVABLE:
                raise MatrixError(403, Errcode.FORBIDDEN, f"{user_id} is not in {room_id}")
            moderator = await self._access.act_in(actor, room_id)
            content: dict[str, Any] = {"membership": Membership.LEAVE}
            if reason:
                content["reason"] = reason
            details = {"room_id": room_id, "reason": reason, "as": moderator}

            async def audit_with(t: Queryable, event: StoredEvent) -> None:
                await self._audit.record(
                    t, actor, ACTION, user_id, {**details, "event_id": event.event_id}
                )

            draft = EventDraft(EventType.MEMBER, moderator, content, user_id)
            event = await self._pipeline.send(room_id, draft, also=audit_with)
        log_admin_action(actor, f"removed {user_id} from {room_id}")
        return event.event_id
