"""The authorisation rules of room versions 7 to 12, as one pure function.

spec: rooms/v12#authorisation-rules (older versions differ where noted: the creator comes from
`content.creator` up to v10; `restricted` join rules exist from v8 and `knock_restricted` from
v10; only v12 has `additional_creators`, infinite creator power and room IDs derived from the
create event). Every event the server creates passes through `check_auth` with the room state
before it; a refusal is `AuthError`, which services turn into 403 M_FORBIDDEN. Third-party
invites are not offered by this server and are refused. A restricted join is admitted in the
name of the member its `join_authorised_via_users_server` names; whether the joiner meets the
room's `allow` conditions is the resident server's to check before it vouches
(services/rooms/restricted_joins.py), not these rules'.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bastion.events.join_rules import JOIN_AUTHORISER, admits_through_rooms, knock_allowed
from bastion.events.power_levels import PowerLevels, creators_of
from bastion.events.types import (
    SUPPORTED_ROOM_VERSIONS,
    EventType,
    JoinRule,
    Membership,
    before_v11,
    has_restricted_rooms,
)
from bastion.ids import is_valid_user_id
from bastion.json_types import JsonObject

StateKey = tuple[str, str]


class AuthError(Exception):
    """The event is not allowed by the room's authorisation rules; the message says why."""


@dataclass(frozen=True, slots=True)
class AuthEvent:
    """The parts of an event the rules look at."""

    type: str
    sender: str
    content: JsonObject
    state_key: str | None = None
    prev_events: tuple[str, ...] = ()
    event_id: str = ""


AuthState = Mapping[StateKey, AuthEvent]


@dataclass(frozen=True, slots=True)
class _Room:
    """The state the rules consult, parsed once."""

    version: str
    create: AuthEvent
    power: PowerLevels
    has_power_levels: bool
    state: AuthState

    def membership(self, user_id: str) -> str:
        member = self.state.get((EventType.MEMBER, user_id))
        value = member.content.get("membership") if member is not None else None
        return value if isinstance(value, str) else Membership.LEAVE

    def join_rule(self) -> str:
        rules = self.state.get((EventType.JOIN_RULES, ""))
        value = rules.content.get("join_rule") if rules is not None else None
        return value if isinstance(value, str) else JoinRule.INVITE


def auth_event_keys(event_type: str, state_key: str | None, sender: str, content: JsonObject,
                    room_version: str) -> list[StateKey]:  # fmt: skip
    """The state an event's `auth_events` refer to (server-server-api#auth-events-selection)."""
    keys: list[StateKey] = []
    if room_version != "12":
        keys.append((EventType.CREATE, ""))
    keys += [(EventType.POWER_LEVELS, ""), (EventType.MEMBER, sender)]
    if event_type == EventType.MEMBER and state_key is not None:
        keys.append((EventType.MEMBER, state_key))
        if content.get("membership") in (Membership.JOIN, Membership.INVITE, Membership.KNOCK):
            keys.append((EventType.JOIN_RULES, ""))
        authoriser = content.get(JOIN_AUTHORISER)
        if content.get("membership") == Membership.JOIN and isinstance(authoriser, str):
            keys.append((EventType.MEMBER, authoriser))
    return list(dict.fromkeys(keys))


def check_auth(event: AuthEvent, state: AuthState, room_version: str) -> None:
    """Allow the event (return) or refuse it (raise AuthError), given the state before it."""
    if event.type == EventType.CREATE:
        _check_create(event, room_version)
        return
    create = state.get((EventType.CREATE, ""))
    if create is None:
        raise AuthError("the room has no create event")
    power_event = state.get((EventType.POWER_LEVELS, ""))
    creators = creators_of(create.sender, create.content, room_version)
    power = PowerLevels.from_state(
        power_event.content if power_event else None, creators, room_version
    )
    room = _Room(room_version, create, power, power_event is not None, state)
    if event.type == EventType.MEMBER:
        _check_member(event, room)
        return
    if room.membership(event.sender) != Membership.JOIN:
        raise AuthError(f"{event.sender} is not in the room")
    if event.type == EventType.THIRD_PARTY_INVITE:
        _require(power.user_level(event.sender) >= power.invite, "not allowed to invite")
        return
    level = power.event_level(event.type, is_state=event.state_key is not None)
    _require(
        power.user_level(event.sender) >= level, f"power level {level} needed to send {event.type}"
    )
    if event.state_key is not None and event.state_key.startswith("@"):
        _require(event.state_key == event.sender, "state keys starting with @ belong to that user")
    if event.type == EventType.POWER_LEVELS:
        _check_power_levels(event, room)


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise AuthError(reason)


def _check_create(event: AuthEvent, room_version: str) -> None:
    _require(not event.prev_events, "a create event has no previous events")
    version = event.content.get("room_version", "1")
    _require(version in SUPPORTED_ROOM_VERSIONS, f"unsupported room version {version!r}")
    if before_v11(room_version):
        _require(
            "creator" in event.content, f"a v{room_version} create event needs content.creator"
        )
    extra = event.content.get("additional_creators")
    if room_version == "12" and extra is not None:
        valid = isinstance(extra, list) and all(is_valid_user_id(u) for u in extra)
        _require(valid, "additional_creators must be a list of user IDs")


def _check_member(event: AuthEvent, room: _Room) -> None:
    target = event.state_key
    membership = event.content.get("membership")
    _require(
        target is not None and isinstance(membership, str),
        "membership event needs a state_key and membership",
    )
    assert target is not None
    if JOIN_AUTHORISER in event.content and has_restricted_rooms(room.version):
        # Rule 4.2: the event must be signed by the authoriser's server. Every event here is
        # signed by the server of its sender, this one, so the authoriser must be a user of it.
        authoriser = event.content[JOIN_AUTHORISER]
        _require(
            isinstance(authoriser, str)
            and is_valid_user_id(authoriser)
            and _server_of(authoriser) == _server_of(event.sender),
            f"{JOIN_AUTHORISER} must name a user of the sender's server",
        )
    handlers = {
        Membership.JOIN: _check_join,
        Membership.INVITE: _check_invite,
        Membership.LEAVE: _check_leave,
        Membership.BAN: _check_ban,
        Membership.KNOCK: _check_knock,
    }
    handler = handlers.get(Membership(membership)) if membership in _MEMBERSHIPS else None
    if handler is None:
        raise AuthError(f"unknown membership {membership!r}")
    handler(event, target, room)


def _check_join(event: AuthEvent, target: str, room: _Room) -> None:
    # Rule 5.3.1 names the create event's own creator only (not v12's additional_creators).
    creator = room.create.sender
    if before_v11(room.version):
        creator = room.create.content.get("creator", creator)
    only_create_before = bool(room.create.event_id) and event.prev_events == (room.create.event_id,)
    if only_create_before and event.sender == target == creator:
        return
    _require(event.sender == target, "you can only join as yourself")
    current = room.membership(target)
    _require(current != Membership.BAN, f"{target} is banned from the room")
    rule = room.join_rule()
    # spec rooms/v12 auth rules 4.3.4-4.3.5: invite and knock rooms admit the invited and the
    # joined; restricted rooms also admit those two, and anyone admitted in the name of a
    # joined member who may invite (join_authorised_via_users_server).
    if rule in (JoinRule.INVITE, JoinRule.KNOCK):
        _require(
            current in (Membership.INVITE, Membership.JOIN), "you need an invite to join this room"
        )
        return
    if admits_through_rooms(rule, room.version):
        if current in (Membership.INVITE, Membership.JOIN):
            return
        authoriser = event.content.get(JOIN_AUTHORISER)
        _require(isinstance(authoriser, str), "you need an invite to join this room")
        assert isinstance(authoriser, str)
        _require(
            room.membership(authoriser) == Membership.JOIN
            and room.power.user_level(authoriser) >= room.power.invite,
            f"{authoriser} is not a member of the room who may invite, so cannot admit you",
        )
        return
    _require(rule == JoinRule.PUBLIC, f"join rule {rule!r} does not let you join")


def _check_invite(event: AuthEvent, target: str, room: _Room) -> None:
    _require("third_party_invite" not in event.content, "third-party invites are not supported")
    _require(room.membership(event.sender) == Membership.JOIN, "you must be in the room to invite")
    current = room.membership(target)
    _require(current != Membership.JOIN, f"{target} is already in the room")
    _require(current != Membership.BAN, f"{target} is banned from the room")
    _require(room.power.user_level(event.sender) >= room.power.invite, "not allowed to invite")


def _check_leave(event: AuthEvent, target: str, room: _Room) -> None:
    current = room.membership(target)
    if event.sender == target:
        _require(
            current in (Membership.INVITE, Membership.JOIN, Membership.KNOCK),
            "you are not in the room",
        )
        return
    _require(room.membership(event.sender) == Membership.JOIN, "you must be in the room to kick")
    power = room.power
    sender_level = power.user_level(event.sender)
    if current == Membership.BAN:
        _require(sender_level >= power.ban, "not allowed to unban")
    _require(sender_level >= power.kick, "not allowed to kick")
    _require(
        power.user_level(target) < sender_level, "cannot kick someone of equal or higher power"
    )


def _check_ban(event: AuthEvent, target: str, room: _Room) -> None:
    _require(room.membership(event.sender) == Membership.JOIN, "you must be in the room to ban")
    power = room.power
    sender_level = power.user_level(event.sender)
    _require(sender_level >= power.ban, "not allowed to ban")
    _require(power.user_level(target) < sender_level, "cannot ban someone of equal or higher power")


def _check_knock(event: AuthEvent, target: str, room: _Room) -> None:
    _require(knock_allowed(room.join_rule(), room.version), "this room does not accept knocks")
    _require(event.sender == target, "you can only knock as yourself")
    current = room.membership(target)
    _require(
        current not in (Membership.BAN, Membership.INVITE, Membership.JOIN),
        f"cannot knock while {current}",
    )


_MEMBERSHIPS = frozenset(m.value for m in Membership)
_LEVEL_KEYS = (
    "users_default",
    "events_default",
    "state_default",
    "ban",
    "redact",
    "kick",
    "invite",
)


def _check_power_levels(event: AuthEvent, room: _Room) -> None:
    new = event.content
    for key in _LEVEL_KEYS:
        _require(key not in new or _is_int(new[key]), f"{key} must be an integer")
    for key in ("events", "notifications"):
        value = new.get(key, {})
        _require(
            isinstance(value, dict) and all(_is_int(v) for v in value.values()),
            f"{key} must map to integers",
        )
    users = new.get("users", {})
    valid_users = isinstance(users, dict) and all(
        is_valid_user_id(u) and _is_int(v) for u, v in users.items()
    )
    _require(valid_users, "users must map user IDs to integers")
    if room.version == "12":
        _require(
            not room.power.creators & set(users), "room creators cannot be given a power level"
        )
    if not room.has_power_levels:
        return
    old_event = room.state[(EventType.POWER_LEVELS, "")]
    _check_level_changes(event.sender, old_event.content, new, room.power)


def _changed_levels(old: JsonObject, new: JsonObject) -> list[tuple[str, object, object]]:
    """(name, old value, new value) for every level setting that differs, users excepted."""
    changes = [(k, old.get(k), new.get(k)) for k in _LEVEL_KEYS if old.get(k) != new.get(k)]
    for key in ("events", "notifications"):
        before, after = old.get(key, {}), new.get(key, {})
        for name in set(before) | set(after):
            if before.get(name) != after.get(name):
                changes.append((f"{key}.{name}", before.get(name), after.get(name)))
    return changes


def _check_level_changes(sender: str, old: JsonObject, new: JsonObject, power: PowerLevels) -> None:
    mine = power.user_level(sender)
    for name, before_value, after_value in _changed_levels(old, new):
        for value in (before_value, after_value):
            _require(
                value is None or value <= mine,  # type: ignore[operator]  # ints, checked above
                f"cannot change {name} beyond your own level",
            )
    before_users, after_users = old.get("users", {}), new.get("users", {})
    for user in set(before_users) | set(after_users):
        old_value, new_value = before_users.get(user), after_users.get(user)
        if old_value == new_value:
            continue
        if user != sender and old_value is not None:
            _require(old_value < mine, f"cannot change the level of {user}, who is not below you")
        _require(new_value is None or new_value <= mine, "cannot raise anyone above your own level")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _server_of(user_id: str) -> str:
    return user_id.split(":", 1)[1] if ":" in user_id else ""
