"""The organisation policy, enforced on the events themselves (issue #12 §4).

One event hook (`PolicyEnforcement`, wired in app/wiring.py's hook list) sees every room event
the server writes, whatever the path (createRoom, /state, a batch), so no path can go around
the policy; it also tells `RoomCreator` what the policy adds to a new room. Rules:

- `rooms.creation`: a room's create event is refused (403 M_FORBIDDEN) unless its sender may
  create rooms: everyone; server admins only (`admins`); members of a SCIM group
  (`group:<id>`, asked through `GroupMembership`; with no group directory wired, nobody but the
  exempt server accounts can create rooms: the rule fails closed).
- `rooms.max_admins`: an event that would leave a room with more admins than the limit AND
  makes someone an admin who was not one before is refused (403 M_FORBIDDEN naming the limit).
  Admins are `PowerLevels.admins()`: users at 100 or more and, in v12, the creators. A room that
  already has more admins than a new, lower limit keeps them; every change that adds no admin
  (demoting one, changing a level) is still allowed, so such a room can only move down. The
  policy's moderation account never counts (it is the organisation's, given to every room). A
  `users_default` of 100 or more would make every member an admin: refused under a limit.
  A server admin's promotion (`RoomPromoter`: offboarding's successor, `make_room_admin`, the
  moderation account) runs inside `max_admins_exempt()` and is not limited: the guarantee that
  no room is left without an admin comes before the limit.
  v12 creators are checked on the create event (its `additional_creators`), power levels in
  the event's transaction against the levels it replaces (`record`, which sees the state the
  auth rules used, so no race with another change lets two promotions pass).
- `rooms.encryption`: `forbidden` refuses any `m.room.encryption` state event (so createRoom
  with one in `initial_state` too); `required` refuses one whose algorithm is not Megolm, and
  `RoomCreator` adds Megolm encryption to a new room whose request has none (the request is
  not refused: Element creates DMs encrypted anyway, and bots that omit it still get a room).
- `rooms.moderator`: every NEW room gives the moderation account lasting power: an additional
  creator in v12 (power no one can lower), power 100 in the initial power levels in v7-v11.
  It is not made a member (the moderation work joins it when it acts).

Refusals are answered at once and change nothing, so there is nothing to audit; the policy
changes themselves are audited by PolicyService.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from typing_extensions import override

from bastion.errors import Errcode, MatrixError
from bastion.events.builder import EventDraft
from bastion.events.model import StoredEvent
from bastion.events.power_levels import ADMIN_LEVEL, PowerLevels, creators_of
from bastion.events.types import EventType
from bastion.services.event_hooks import EventContext, EventHook
from bastion.services.policy.document import RoomsPolicy
from bastion.services.policy.service import PolicyService
from bastion.services.room_additions import RoomAdditions
from bastion.store.database import Database, Queryable
from bastion.store.protocols import UserStore

MEGOLM = "m.megolm.v1.aes-sha2"
_GROUP = "group:"
_EXEMPT: ContextVar[bool] = ContextVar("max_admins_exempt", default=False)


@contextmanager
def max_admins_exempt() -> Iterator[None]:
    """Power-level events written inside this block (same task) skip `rooms.max_admins`: for
    promotions a server admin ordered, never for a client's request."""
    token = _EXEMPT.set(True)
    try:
        yield
    finally:
        _EXEMPT.reset(token)


class GroupMembership(Protocol):
    """Who is in a SCIM group (services/scim/ implements it)."""

    async def is_member(self, group_id: str, user_id: str) -> bool: ...


def _forbidden(message: str) -> MatrixError:
    return MatrixError(403, Errcode.FORBIDDEN, message)


class PolicyEnforcement(EventHook):
    """The `rooms` rules of the policy in force, on every room event and every new room."""

    def __init__(
        self,
        db: Database,
        policy: PolicyService,
        users: UserStore,
        *,
        groups: GroupMembership | None = None,
        exempt_creators: frozenset[str] = frozenset(),
    ) -> None:
        """`exempt_creators`: server accounts whose rooms are the server's (server notices)."""
        self._db, self._policy, self._users = db, policy, users
        self._groups = groups
        self._exempt = exempt_creators

    def use_groups(self, groups: GroupMembership) -> None:
        """Wire the SCIM group directory (built after the room services)."""
        self._groups = groups

    async def additions(self, room_version: str) -> RoomAdditions:
        """What the policy adds to a new room (read by RoomCreator)."""
        rooms = (await self._policy.current()).rooms
        encryption = {"algorithm": MEGOLM} if rooms.encryption == "required" else None
        return RoomAdditions(moderator=rooms.moderator, encryption=encryption)

    @override
    async def check(self, room_id: str | None, draft: EventDraft) -> None:
        if draft.type == EventType.CREATE and room_id is None:
            rooms = (await self._policy.current()).rooms
            if draft.sender in self._exempt:
                return
            await self._check_creation(rooms, draft.sender)
            self._check_creators(rooms, draft)
        elif draft.type == EventType.ENCRYPTION and draft.state_key == "":
            self._check_encryption((await self._policy.current()).rooms, draft.content)

    @override
    async def record(self, q: Queryable, event: StoredEvent, context: EventContext) -> None:
        if event.type != EventType.POWER_LEVELS or event.state_key != "":
            return
        rooms = (await self._policy.current()).rooms
        if rooms.max_admins is None or _EXEMPT.get():
            return
        before = context.power_levels()
        after = PowerLevels.from_state(event.content, before.creators, context.room_version)
        _check_admins(rooms, before, after)

    async def _check_creation(self, rooms: RoomsPolicy, user_id: str) -> None:
        rule = rooms.creation
        if rule == "everyone":
            return
        if rule == "admins":
            user = await self._users.get_user(self._db, user_id)
            if user is None or not user.is_admin:
                raise _forbidden("The organisation policy lets only server admins create rooms")
            return
        group_id = rule.removeprefix(_GROUP)
        if self._groups is None or not await self._groups.is_member(group_id, user_id):
            raise _forbidden(
                f"The organisation policy lets only members of group {group_id!r} create rooms"
            )

    def _check_creators(self, rooms: RoomsPolicy, draft: EventDraft) -> None:
        limit = rooms.max_admins
        version = draft.content.get("room_version")
        if limit is None or version != "12":
            return
        creators = creators_of(draft.sender, draft.content, version) - {rooms.moderator}
        if len(creators) > limit:
            raise _forbidden(
                f"The organisation policy allows at most {limit} admins per room;"
                f" this room would start with {len(creators)} creators"
            )

    def _check_encryption(self, rooms: RoomsPolicy, content: dict[str, Any]) -> None:
        if rooms.encryption == "forbidden":
            raise _forbidden("The organisation policy forbids encrypted rooms")
        if rooms.encryption == "required" and content.get("algorithm") != MEGOLM:
            raise _forbidden(f"The organisation policy requires {MEGOLM} encryption in every room")


def _check_admins(rooms: RoomsPolicy, before: PowerLevels, after: PowerLevels) -> None:
    """Refuse power levels that add an admin to a room beyond `rooms.max_admins`."""
    limit = rooms.max_admins
    if limit is None:
        return
    if after.users_default >= ADMIN_LEVEL > before.users_default:
        raise _forbidden(
            f"The organisation policy allows at most {limit} admins per room;"
            f" users_default {after.users_default} would make every member an admin"
        )
    exempt = {rooms.moderator}
    admins_after = after.admins() - exempt
    if len(admins_after) > limit and not admins_after <= before.admins() - exempt:
        raise _forbidden(
            f"The organisation policy allows at most {limit} admins (power level"
            f" {ADMIN_LEVEL}) per room; this change would make {len(admins_after)}"
        )
