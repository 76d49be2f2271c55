"""Room promotion: making someone a room admin in a room the server did not create.

The server holds no power of its own in a room: only its members do. So a promotion is done
*as* a local member who has the power, through the event pipeline like any other event, and the
room version's auth rules hold as for a client (no event is forged, nothing bypasses them):

1. the grantor is a local joined member who may send `m.room.power_levels` and give `level`:
   a v12 creator first (unlimited power, spec: rooms/v12), then the highest-powered member;
2. if the user is neither joined nor invited, the grantor invites them (so the new admin can
   join an invite-only room);
3. the grantor sends the power levels with the user at `level`, replacing the current ones
   (a compare-and-set: a concurrent change makes us read again and rebuild).

In a v12 room a creator already has unlimited power that no power-levels event can lower or
list: promoting one is a no-op. No local member with the power: 403 M_FORBIDDEN naming the room.
The policy's `rooms.max_admins` does not limit a promotion a server admin ordered (it runs in
`max_admins_exempt()`): no room may be left without an admin.

Audit: `room.promote` is recorded in the transaction of the last event the promotion writes
(the power levels, or the invite when the user already had the level); a refusal or failure is
recorded as failed (`AuditTrail.attempt`). Admins only (`actor.require_admin()`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bastion.errors import Errcode, MatrixError
from bastion.events.builder import EventDraft
from bastion.events.model import StoredEvent
from bastion.events.power_levels import PowerLevels, creators_of
from bastion.events.types import EventType, Membership
from bastion.ids import UserID
from bastion.services.audit.trail import AuditTrail
from bastion.services.policy.enforcement import max_admins_exempt
from bastion.services.principal import Principal, log_admin_action
from bastion.services.rooms.pipeline import EventPipeline, StateChangedError
from bastion.store.database import Database, Queryable
from bastion.store.protocols import MembershipStore, RoomStore, StateStore, UserStore

ACTION = "room.promote"
_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Promotion:
    """What a promotion did: who granted it, whether it invited, the power event (if any)."""

    granted_by: str | None
    invited: bool
    power_event_id: str | None


@dataclass(frozen=True, slots=True)
class PromotionStores:
    """The stores a promotion reads."""

    rooms: RoomStore
    state: StateStore
    memberships: MembershipStore
    users: UserStore


@dataclass(frozen=True, slots=True)
class _Room:
    """What a promotion reads of the room, all at one moment."""

    version: str
    levels: PowerLevels
    power_event: StoredEvent | None
    joined_local: list[str]
    target_membership: str | None


class RoomPromoter:
    """Promotes a user in an existing room, through a local member with the power."""

    def __init__(
        self, db: Database, pipeline: EventPipeline, stores: PromotionStores, audit: AuditTrail
    ) -> None:
        self._db = db
        self._pipeline = pipeline
        self._stores = stores
        self._audit = audit

    async def promote(
        self, actor: Principal, room_id: str, user_id: str, *, level: int = 100
    ) -> Promotion:
        """Give `user_id` power `level` in `room_id` (100: room admin)."""
        actor.require_admin()
        async with self._audit.attempt(actor, ACTION, room_id):
            await self._require_local_user(user_id)
            for _ in range(_ATTEMPTS):
                try:
                    with max_admins_exempt():  # an admin's promotion is above the room limit
                        promotion = await self._promote_once(actor, room_id, user_id, level)
                except StateChangedError:
                    continue  # the power levels changed under us: read them again
                break
            else:
                raise MatrixError(503, Errcode.UNKNOWN, f"{room_id} is too busy; try again")
        log_admin_action(actor, f"promoted {user_id} to {level} in {room_id}")
        return promotion

    async def _promote_once(
        self, actor: Principal, room_id: str, user_id: str, level: int
    ) -> Promotion:
        room = await self._read(room_id, user_id)
        details: dict[str, Any] = {"user_id": user_id, "level": level}
        if room.levels.infinite_creators and user_id in room.levels.creators:
            details["outcome"] = "already a creator"
            await self._audit.record_alone(actor, ACTION, room_id, details)
            return Promotion(granted_by=None, invited=False, power_event_id=None)
        needs_invite = room.target_membership not in (Membership.JOIN, Membership.INVITE)
        needs_power = room.levels.user_level(user_id) < level
        if not needs_invite and not needs_power:
            details["outcome"] = "already at level"
            await self._audit.record_alone(actor, ACTION, room_id, details)
            return Promotion(granted_by=None, invited=False, power_event_id=None)
        grantor = _grantor(room, user_id, level, needs_invite=needs_invite)
        if grantor is None:
            raise MatrixError(
                403,
                Errcode.FORBIDDEN,
                f"no member of {room_id} on this server has the power to make {user_id} "
                f"level {level}",
            )
        details.update(granted_by=grantor, invited=needs_invite)

        async def audit_with(t: Queryable, event: StoredEvent) -> None:
            await self._audit.record(
                t, actor, ACTION, room_id, {**details, "event": event.event_id}
            )

        if needs_invite:
            invite = EventDraft(EventType.MEMBER, grantor, {"membership": "invite"}, user_id)
            await self._pipeline.send(room_id, invite, also=None if needs_power else audit_with)
        power_event_id = None
        if needs_power:
            power = await self._pipeline.send(
                room_id,
                EventDraft(EventType.POWER_LEVELS, grantor, _raised(room, user_id, level), ""),
                replaces=room.power_event.event_id if room.power_event is not None else None,
                also=audit_with,
            )
            power_event_id = power.event_id
        return Promotion(grantor, needs_invite, power_event_id)

    async def _read(self, room_id: str, user_id: str) -> _Room:
        stores = self._stores
        async with self._db.transaction() as t:  # one snapshot of the room
            room = await stores.rooms.get_room(t, room_id)
            keys = [(EventType.CREATE, ""), (EventType.POWER_LEVELS, "")]
            current = await stores.state.current_events(t, room_id, keys)
            joined = await stores.memberships.members(t, room_id, [Membership.JOIN])
            target = await stores.memberships.get_membership(t, user_id, room_id)
        create = current.get((EventType.CREATE, ""))
        if room is None or create is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room {room_id}")
        power_event = current.get((EventType.POWER_LEVELS, ""))
        levels = PowerLevels.from_state(
            power_event.content if power_event is not None else None,
            creators_of(create.sender, create.content, room.room_version),
            room.room_version,
        )
        local = f":{self._pipeline.server_name}"
        return _Room(
            version=room.room_version,
            levels=levels,
            power_event=power_event,
            joined_local=[u for u in joined if u.endswith(local)],
            target_membership=target.membership if target is not None else None,
        )

    async def _require_local_user(self, user_id: str) -> None:
        parsed = UserID.parse(user_id)
        user = await self._stores.users.get_user(self._db, user_id)
        if parsed.server_name != self._pipeline.server_name or user is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"unknown user {user_id}")
        if user.is_deactivated:
            raise MatrixError(400, Errcode.INVALID_PARAM, f"{user_id} is deactivated")


def _grantor(room: _Room, user_id: str, level: int, *, needs_invite: bool) -> str | None:
    """The local joined member to act as: a v12 creator first, then the highest-powered one
    whom the auth rules let change the power levels this way (and invite, if needed)."""
    levels = room.levels
    needed = levels.event_level(EventType.POWER_LEVELS, is_state=True)
    target_level = levels.user_level(user_id)

    def can_grant(member: str) -> bool:
        own = levels.user_level(member)
        return (
            own >= needed
            and own >= level
            and (member == user_id or target_level < own)
            and (not needs_invite or own >= levels.invite)
        )

    ranked = sorted(
        room.joined_local,
        key=lambda m: (m not in levels.creators or not levels.infinite_creators,
                       -levels.user_level(m), m),
    )  # fmt: skip
    return next((m for m in ranked if can_grant(m)), None)


def _raised(room: _Room, user_id: str, level: int) -> dict[str, Any]:
    """The current power-levels content with `user_id` at `level`."""
    if room.power_event is None:  # no power levels yet: start from the implied ones
        return {"users": {**room.levels.users, user_id: level}}
    content: dict[str, Any] = dict(room.power_event.content)
    users = content.get("users")
    content["users"] = {**(users if isinstance(users, dict) else {}), user_id: level}
    return content
