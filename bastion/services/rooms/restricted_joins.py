"""Restricted rooms (spec: client-server-api#restricted-rooms; room versions 8 and later, and
`knock_restricted` from 10: events/join_rules.py). A room whose join rule is `restricted` or
`knock_restricted` admits, without an invite, whoever is joined to one of the rooms its `allow`
conditions name (`m.room_membership`). It is what Element offers by default for a room made in
a space ("space members can join"): a department's rooms open to the department, and to nobody
else.

The auth rules (events/auth_rules.py) do not look at the conditions: they admit a join whose
`join_authorised_via_users_server` names a joined member of the room who may invite, in whose
name the resident server vouches that the conditions hold. With one server, this server both
asks and vouches, so it does both halves here:

- `authoriser` (MembershipService.join): for someone neither invited to nor in a restricted
  room, the member to name: the one with the most power who may invite (as Synapse does), then
  the first by user ID, so the choice is stable. 403 M_FORBIDDEN when no joined member of this
  server may invite (nobody can admit them; an invite still can, later).
- `check` (an event hook, before anything is written): the one place the conditions are
  checked. Every join that carries the key and admits someone (not already joined or invited)
  is refused with 403 M_FORBIDDEN unless its user meets one, whichever way the join came: the
  join above, or a client writing the key itself. Without this, a client could write it with
  `PUT /rooms/{id}/state/m.room.member/{own ID}`, name any member who may invite, and walk into
  a room it does not qualify for: the key is this server's promise, never the client's.

The conditions are read at the join and not kept: leaving the space later removes nobody from
its rooms (the spec: "The user does not need to maintain the conditions").
"""

from __future__ import annotations

from typing_extensions import override

from bastion.errors import Errcode, MatrixError
from bastion.events.builder import EventDraft
from bastion.events.join_rules import JOIN_AUTHORISER, admits_through_rooms, allowed_room_ids
from bastion.events.model import StoredEvent
from bastion.events.power_levels import PowerLevels, creators_of
from bastion.events.types import EventType, Membership
from bastion.json_types import JsonObject
from bastion.services.event_hooks import EventHook
from bastion.store.database import Database
from bastion.store.protocols import MembershipStore, StateStore

_RULE_KEYS = [(EventType.JOIN_RULES, ""), (EventType.POWER_LEVELS, ""), (EventType.CREATE, "")]


class RestrictedJoins(EventHook):
    """Who may join a restricted room, and in whose name (module docstring)."""

    def __init__(
        self, db: Database, state: StateStore, memberships: MembershipStore, server_name: str
    ) -> None:
        self._db = db
        self._state = state
        self._memberships = memberships
        self._suffix = f":{server_name}"

    async def authoriser(self, room_id: str) -> str | None:
        """The member to name in a join of `room_id` by someone neither invited nor joined;
        None when the room is not restricted (or unknown: the join's own refusal follows).
        Whether the joiner meets the conditions is `check`'s, when the join is sent."""
        found = await self._state.current_events(self._db, room_id, _RULE_KEYS)
        rules, create = found.get(_RULE_KEYS[0]), found.get(_RULE_KEYS[2])
        version = _version(create)
        if rules is None or create is None or not _restricts(rules.content, version):
            return None
        levels = found.get(_RULE_KEYS[1])
        power = PowerLevels.from_state(
            levels.content if levels is not None else None,
            creators_of(create.sender, create.content, version),
            version,
        )
        joined = await self._memberships.members(self._db, room_id, [Membership.JOIN])
        local = [u for u in joined if u.endswith(self._suffix)]
        able = [u for u in local if power.user_level(u) >= power.invite]
        if not able:
            raise MatrixError(
                403,
                Errcode.FORBIDDEN,
                f"nobody in {room_id} may invite, so nobody can admit you: ask for an invite",
            )
        return min(able, key=lambda u: (-power.user_level(u), u))

    @override
    async def check(self, room_id: str | None, draft: EventDraft) -> EventDraft | None:
        """Refuse a join carrying the key for someone who meets none of the room's conditions
        (whoever wrote the key: module docstring)."""
        if room_id is None or draft.type != EventType.MEMBER or draft.state_key is None:
            return None
        if JOIN_AUTHORISER not in draft.content or draft.content.get("membership") != "join":
            return None  # without the key, or not a join: the auth rules decide alone
        target = draft.state_key
        current = await self._memberships.get_membership(self._db, target, room_id)
        if current is not None and current.membership in (Membership.JOIN, Membership.INVITE):
            return None  # admitted already (a new display name copies the old content)
        found = await self._state.current_events(self._db, room_id, _RULE_KEYS)
        rules, version = found.get(_RULE_KEYS[0]), _version(found.get(_RULE_KEYS[2]))
        if rules is None or not _restricts(rules.content, version):
            return None  # the key admits nobody here: the auth rules judge the join
        await self._require_condition(target, room_id, rules.content)
        return None

    async def _require_condition(self, user_id: str, room_id: str, rules: JsonObject) -> None:
        """403 M_FORBIDDEN unless `user_id` is joined to one of the rooms `rules` allow."""
        for allowed in allowed_room_ids(rules):
            record = await self._memberships.get_membership(self._db, user_id, allowed)
            if record is not None and record.membership == Membership.JOIN:
                return
        raise MatrixError(
            403,
            Errcode.FORBIDDEN,
            f"{room_id} admits only members of the rooms its join rules allow, and you are in "
            "none of them: ask for an invite",
        )


def _restricts(rules: JsonObject, room_version: str) -> bool:
    return admits_through_rooms(rules.get("join_rule"), room_version)


def _version(create: StoredEvent | None) -> str:
    version = create.content.get("room_version", "1") if create is not None else "1"
    return version if isinstance(version, str) else "1"
