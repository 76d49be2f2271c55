"""The authorisation rules of room versions 10, 11 and 12 (spec: rooms/v10, v11, v12
#authorisation-rules), one test per rule with both the allowed and the refused case."""

from __future__ import annotations

from typing import Any

import pytest

from bastion.events.auth_rules import (
    AuthError,
    AuthEvent,
    AuthState,
    StateKey,
    auth_event_keys,
    check_auth,
)

VERSIONS = ("7", "8", "9", "10", "11", "12")

CREATOR = "@alice:example.org"
BOB = "@bob:example.org"
CAROL = "@carol:example.org"
DAVE = "@dave:example.org"
ERIN = "@erin:example.org"

CREATE = "m.room.create"
MEMBER = "m.room.member"
POWER = "m.room.power_levels"
JOIN_RULES = "m.room.join_rules"


@pytest.fixture(params=VERSIONS)
def version(request: pytest.FixtureRequest) -> str:
    """Every test that takes `version` runs for room versions 7 to 12."""
    value: str = request.param
    return value


# --- building events and rooms -------------------------------------------------------------------


CREATE_ID = "$create"


def create_event(
    version: str, *, sender: str = CREATOR, prev_events: tuple[str, ...] = (), **extra: Any
) -> AuthEvent:
    content: dict[str, Any] = {"room_version": version}
    if version in ("7", "8", "9", "10"):
        content["creator"] = sender
    content.update(extra)
    return AuthEvent(CREATE, sender, content, "", prev_events, event_id=CREATE_ID)


def member(
    target: str,
    membership: str,
    *,
    sender: str | None = None,
    prev_events: tuple[str, ...] = (),
    **extra: Any,
) -> AuthEvent:
    content = {"membership": membership, **extra}
    return AuthEvent(MEMBER, sender or target, content, target, prev_events)


def power_event(content: dict[str, Any], sender: str = CREATOR) -> AuthEvent:
    return AuthEvent(POWER, sender, content, "")


def state_event(event_type: str, sender: str, state_key: str = "", **content: Any) -> AuthEvent:
    return AuthEvent(event_type, sender, dict(content), state_key)


def message(sender: str) -> AuthEvent:
    return AuthEvent("m.room.message", sender, {"msgtype": "m.text", "body": "hi"})


def base_users(version: str) -> dict[str, int]:
    """The creator's entry in `users`: 100 in v10/v11; v12 creators must not be listed."""
    return {} if version == "12" else {CREATOR: 100}


def make_room(
    version: str,
    *,
    join_rule: str | None = "invite",
    members: dict[str, str] | None = None,
    users: dict[str, int] | None = None,
    levels: dict[str, Any] | None = None,
    with_power_levels: bool = True,
    additional_creators: list[str] | None = None,
) -> dict[StateKey, AuthEvent]:
    """A room after create + creator join (+ power levels + join rules) + other members."""
    extra = {} if additional_creators is None else {"additional_creators": additional_creators}
    events = [create_event(version, **extra), member(CREATOR, "join")]
    if with_power_levels:
        content: dict[str, Any] = {"users": {**base_users(version), **(users or {})}}
        content.update(levels or {})
        events.append(power_event(content))
    if join_rule is not None:
        events.append(state_event(JOIN_RULES, CREATOR, join_rule=join_rule))
    events += [member(user, m) for user, m in (members or {}).items()]
    return {(e.type, e.state_key or ""): e for e in events}


def known_join_rule(version: str, join_rule: str) -> None:
    """Skip a case of a join rule the version does not have (`restricted` came with v8,
    `knock_restricted` with v10; what older versions do with them has its own tests below)."""
    if join_rule == "knock_restricted" and version in ("7", "8", "9"):
        pytest.skip(f"room version {version} has no knock_restricted join rule (test_before_*)")
    if join_rule == "restricted" and version == "7":
        pytest.skip("room version 7 has no restricted join rule (test_before_*)")


def allowed(event: AuthEvent, state: AuthState, version: str) -> None:
    check_auth(event, state, version)


def refused(event: AuthEvent, state: AuthState, version: str, match: str | None = None) -> None:
    with pytest.raises(AuthError, match=match):
        check_auth(event, state, version)


# --- 1. m.room.create ----------------------------------------------------------------------------


def test_create_event_allowed(version: str) -> None:
    allowed(create_event(version), {}, version)


def test_create_event_with_prev_events_refused(version: str) -> None:
    refused(create_event(version, prev_events=("$prev",)), {}, version, "previous events")


@pytest.mark.parametrize("room_version", ["1", "6", "13", "org.example.custom", 12, None])
def test_create_event_with_unsupported_room_version_refused(
    version: str, room_version: object
) -> None:
    event = create_event(version, room_version=room_version)
    refused(event, {}, version, "unsupported room version")


def test_v10_create_event_without_creator_refused() -> None:
    event = AuthEvent(CREATE, CREATOR, {"room_version": "10"}, "")
    refused(event, {}, "10", "creator")


def test_v11_and_v12_create_event_needs_no_creator() -> None:
    for version in ("11", "12"):
        allowed(AuthEvent(CREATE, CREATOR, {"room_version": version}, ""), {}, version)


def test_v12_create_event_with_valid_additional_creators_allowed() -> None:
    allowed(create_event("12", additional_creators=[BOB, CAROL]), {}, "12")
    allowed(create_event("12", additional_creators=[]), {}, "12")


@pytest.mark.parametrize(
    "additional_creators",
    [
        pytest.param(BOB, id="string-not-list"),
        pytest.param({"user": BOB}, id="object"),
        pytest.param(["bob"], id="no-sigil"),
        pytest.param(["@bob"], id="no-server"),
        pytest.param(["#bob:example.org"], id="room-alias"),
        pytest.param([BOB, 42], id="non-string"),
        pytest.param([None], id="null"),
    ],
)
def test_v12_create_event_with_invalid_additional_creators_refused(
    additional_creators: object,
) -> None:
    event = create_event("12", additional_creators=additional_creators)
    refused(event, {}, "12", "additional_creators")


def test_v12_create_event_additional_creator_with_empty_server_name_refused() -> None:
    refused(create_event("12", additional_creators=["@bob:"]), {}, "12")


@pytest.mark.parametrize("room_version", ["10", "11"])
def test_additional_creators_not_validated_before_v12(room_version: str) -> None:
    allowed(create_event(room_version, additional_creators="nonsense"), {}, room_version)


def test_event_without_create_in_state_refused(version: str) -> None:
    refused(message(CREATOR), {}, version, "no create event")


# --- membership: common checks -------------------------------------------------------------------


def test_member_event_without_membership_refused(version: str) -> None:
    event = AuthEvent(MEMBER, BOB, {"displayname": "Bob"}, BOB)
    refused(event, make_room(version, join_rule="public"), version, "membership")


def test_member_event_without_state_key_refused(version: str) -> None:
    event = AuthEvent(MEMBER, BOB, {"membership": "join"}, None)
    refused(event, make_room(version, join_rule="public"), version, "state_key")


def test_unknown_membership_refused(version: str) -> None:
    event = member(BOB, "lurk")
    refused(event, make_room(version, join_rule="public"), version, "unknown membership")


def test_non_string_membership_refused(version: str) -> None:
    event = AuthEvent(MEMBER, BOB, {"membership": ["join"]}, BOB)
    refused(event, make_room(version, join_rule="public"), version)


# --- join ----------------------------------------------------------------------------------------


def test_creator_first_join_after_create_allowed(version: str) -> None:
    state = {(CREATE, ""): create_event(version)}
    allowed(member(CREATOR, "join", prev_events=(CREATE_ID,)), state, version)


def test_creator_join_after_other_events_is_not_the_first_join(version: str) -> None:
    """The shortcut needs the create event as the only previous event, whatever the state."""
    state = {(CREATE, ""): create_event(version)}
    refused(member(CREATOR, "join", prev_events=("$later",)), state, version)


def test_first_join_by_non_creator_refused(version: str) -> None:
    state = {(CREATE, ""): create_event(version)}
    refused(member(BOB, "join", prev_events=(CREATE_ID,)), state, version)


def test_creator_joined_by_someone_else_refused_in_full_room(version: str) -> None:
    state = make_room(version, join_rule="public", members={BOB: "join"})
    refused(member(CREATOR, "join", sender=BOB), state, version, "only join as yourself")


def test_v12_additional_creator_first_join_right_after_create_refused() -> None:
    state = {(CREATE, ""): create_event("12", additional_creators=[BOB])}
    refused(member(BOB, "join", prev_events=(CREATE_ID,)), state, "12")


def test_join_as_someone_else_refused(version: str) -> None:
    state = make_room(version, join_rule="public")
    refused(member(BOB, "join", sender=CREATOR), state, version, "only join as yourself")


def test_public_room_join_allowed(version: str) -> None:
    allowed(member(BOB, "join"), make_room(version, join_rule="public"), version)


def test_public_room_rejoin_after_leave_allowed(version: str) -> None:
    state = make_room(version, join_rule="public", members={BOB: "leave"})
    allowed(member(BOB, "join"), state, version)


@pytest.mark.parametrize("join_rule", ["public", "invite", "knock"])
def test_banned_user_cannot_join(version: str, join_rule: str) -> None:
    state = make_room(version, join_rule=join_rule, members={BOB: "ban"})
    refused(member(BOB, "join"), state, version, "banned")


@pytest.mark.parametrize("join_rule", ["invite", "knock"])
def test_invite_only_join_refused_without_invite(version: str, join_rule: str) -> None:
    refused(member(BOB, "join"), make_room(version, join_rule=join_rule), version, "invite")


@pytest.mark.parametrize("join_rule", ["invite", "knock"])
def test_invite_only_join_refused_while_knocking(version: str, join_rule: str) -> None:
    state = make_room(version, join_rule=join_rule, members={BOB: "knock"})
    refused(member(BOB, "join"), state, version, "invite")


@pytest.mark.parametrize("join_rule", ["invite", "knock", "restricted", "knock_restricted"])
@pytest.mark.parametrize("current", ["invite", "join"])
def test_invite_only_join_allowed_when_invited_or_joined(
    version: str, join_rule: str, current: str
) -> None:
    known_join_rule(version, join_rule)
    state = make_room(version, join_rule=join_rule, members={BOB: current})
    allowed(member(BOB, "join"), state, version)


def test_missing_join_rules_means_invite(version: str) -> None:
    refused(member(BOB, "join"), make_room(version, join_rule=None), version, "invite")
    state = make_room(version, join_rule=None, members={BOB: "invite"})
    allowed(member(BOB, "join"), state, version)


@pytest.mark.parametrize("join_rule", ["private", "restricted", "knock_restricted", "bogus"])
def test_other_join_rules_refuse_uninvited_join(version: str, join_rule: str) -> None:
    refused(member(BOB, "join"), make_room(version, join_rule=join_rule), version)


# Rule 4.3.5 (v12 numbering): a restricted room admits a join authorised by a joined member
# who may invite; whether the joiner meets the `allow` conditions is the server's check.


@pytest.mark.parametrize("join_rule", ["restricted", "knock_restricted"])
def test_restricted_join_authorised_by_a_member_who_may_invite(
    version: str, join_rule: str
) -> None:
    known_join_rule(version, join_rule)
    event = member(BOB, "join", join_authorised_via_users_server=CREATOR)
    allowed(event, make_room(version, join_rule=join_rule), version)


def test_restricted_join_authorised_by_a_moderator_with_the_invite_level(version: str) -> None:
    known_join_rule(version, "restricted")
    state = make_room(
        version, join_rule="restricted", members={CAROL: "join"}, users={CAROL: 50},
        levels={"invite": 50},
    )  # fmt: skip
    allowed(member(BOB, "join", join_authorised_via_users_server=CAROL), state, version)


def test_restricted_join_authorised_below_the_invite_level_refused(version: str) -> None:
    known_join_rule(version, "restricted")
    state = make_room(
        version, join_rule="restricted", members={CAROL: "join"}, users={CAROL: 10},
        levels={"invite": 50},
    )  # fmt: skip
    event = member(BOB, "join", join_authorised_via_users_server=CAROL)
    refused(event, state, version, "cannot admit you")


@pytest.mark.parametrize("authoriser_membership", ["invite", "leave", "ban", None])
def test_restricted_join_authorised_by_someone_not_joined_refused(
    version: str, authoriser_membership: str | None
) -> None:
    known_join_rule(version, "restricted")
    members = {} if authoriser_membership is None else {CAROL: authoriser_membership}
    state = make_room(version, join_rule="restricted", members=members, users={CAROL: 100})
    event = member(BOB, "join", join_authorised_via_users_server=CAROL)
    refused(event, state, version, "cannot admit you")


def test_restricted_join_authorised_by_another_servers_user_refused(version: str) -> None:
    """Rule 4.2: the event must be signed by the authoriser's server; events here are signed
    only by their sender's."""
    known_join_rule(version, "restricted")
    elsewhere = "@admin:elsewhere.example"
    state = make_room(version, join_rule="restricted", members={elsewhere: "join"})
    event = member(BOB, "join", join_authorised_via_users_server=elsewhere)
    refused(event, state, version, "must name a user of the sender's server")


@pytest.mark.parametrize("authoriser", [42, None, "not-a-user-id"])
def test_restricted_join_with_a_malformed_authoriser_refused(
    version: str, authoriser: object
) -> None:
    known_join_rule(version, "restricted")
    event = member(BOB, "join", join_authorised_via_users_server=authoriser)
    refused(event, make_room(version, join_rule="restricted"), version, "must name a user")


@pytest.mark.parametrize("join_rule", ["invite", "knock"])
def test_an_authoriser_does_not_open_an_invite_only_room(version: str, join_rule: str) -> None:
    event = member(BOB, "join", join_authorised_via_users_server=CREATOR)
    refused(event, make_room(version, join_rule=join_rule), version, "invite")


def test_a_banned_user_stays_out_of_a_restricted_room(version: str) -> None:
    known_join_rule(version, "restricted")
    state = make_room(version, join_rule="restricted", members={BOB: "ban"})
    event = member(BOB, "join", join_authorised_via_users_server=CREATOR)
    refused(event, state, version, "banned")


def test_a_restricted_joins_auth_events_include_the_authorisers_membership(version: str) -> None:
    content = {"membership": "join", "join_authorised_via_users_server": CAROL}
    keys = auth_event_keys(MEMBER, BOB, BOB, content, version)
    assert (MEMBER, CAROL) in keys
    assert (JOIN_RULES, "") in keys
    assert (MEMBER, CAROL) not in auth_event_keys(
        MEMBER, BOB, BOB, {"membership": "leave", "join_authorised_via_users_server": CAROL},
        version,
    )  # fmt: skip


# --- knock ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("join_rule", ["knock", "knock_restricted"])
def test_knock_allowed_with_knock_join_rule(version: str, join_rule: str) -> None:
    known_join_rule(version, join_rule)
    allowed(member(BOB, "knock"), make_room(version, join_rule=join_rule), version)


def test_knock_allowed_after_leaving(version: str) -> None:
    state = make_room(version, join_rule="knock", members={BOB: "leave"})
    allowed(member(BOB, "knock"), state, version)


@pytest.mark.parametrize("join_rule", ["public", "invite", "private", "restricted"])
def test_knock_refused_without_knock_join_rule(version: str, join_rule: str) -> None:
    state = make_room(version, join_rule=join_rule)
    refused(member(BOB, "knock"), state, version, "does not accept knocks")


def test_knock_as_someone_else_refused(version: str) -> None:
    state = make_room(version, join_rule="knock")
    refused(member(BOB, "knock", sender=CAROL), state, version, "only knock as yourself")


@pytest.mark.parametrize("current", ["ban", "join", "invite"])
def test_knock_refused_while_banned_joined_or_invited(version: str, current: str) -> None:
    state = make_room(version, join_rule="knock", members={BOB: current})
    refused(member(BOB, "knock"), state, version, f"cannot knock while {current}")


@pytest.mark.parametrize("old", ["7", "8", "9"])
def test_before_v10_knock_restricted_is_no_join_rule(old: str) -> None:
    """knock_restricted came with room version 10: before, it is no join rule, so it admits
    nobody, invited or not, neither by knocking nor through the rooms it allows."""
    state = make_room(old, join_rule="knock_restricted", members={BOB: "invite"})
    refused(member(BOB, "join"), state, old, "does not let you join")
    refused(member(BOB, "join", join_authorised_via_users_server=CREATOR), state, old)
    refused(member(CAROL, "knock"), make_room(old, join_rule="knock_restricted"), old, "knocks")


def test_before_v8_restricted_is_no_join_rule() -> None:
    """restricted came with room version 8: in v7 it admits nobody without an invite, even with
    an authoriser (the key means nothing in v7)."""
    state = make_room("7", join_rule="restricted", members={BOB: "invite"})
    refused(member(BOB, "join"), state, "7", "does not let you join")
    event = member(CAROL, "join", join_authorised_via_users_server=CREATOR)
    refused(event, make_room("7", join_rule="restricted"), "7", "does not let you join")


def test_v9_knows_no_knock_restricted() -> None:
    """knock_restricted came with room version 10: in a v9 room it is no join rule, so it admits
    nobody, invited or not, neither by knocking nor through the rooms it allows."""
    state = make_room("9", join_rule="knock_restricted", members={BOB: "invite"})
    refused(member(BOB, "join"), state, "9", "does not let you join")
    refused(member(BOB, "join", join_authorised_via_users_server=CREATOR), state, "9")
    refused(member(CAROL, "knock"), make_room("9", join_rule="knock_restricted"), "9", "knocks")


def test_v9_create_event_without_creator_refused() -> None:
    refused(AuthEvent(CREATE, CREATOR, {"room_version": "9"}, ""), {}, "9", "creator")


# --- invite --------------------------------------------------------------------------------------


def test_invite_by_joined_member_allowed(version: str) -> None:
    state = make_room(version, members={BOB: "join"})
    allowed(member(CAROL, "invite", sender=BOB), state, version)


@pytest.mark.parametrize("sender_membership", ["invite", "leave", "knock", "ban", None])
def test_invite_by_non_joined_sender_refused(version: str, sender_membership: str | None) -> None:
    members = {} if sender_membership is None else {BOB: sender_membership}
    state = make_room(version, members=members)
    refused(member(CAROL, "invite", sender=BOB), state, version, "must be in the room")


@pytest.mark.parametrize(
    ("current", "reason"), [("join", "already in the room"), ("ban", "banned from the room")]
)
def test_invite_of_joined_or_banned_target_refused(version: str, current: str, reason: str) -> None:
    state = make_room(version, members={CAROL: current})
    refused(member(CAROL, "invite", sender=CREATOR), state, version, reason)


@pytest.mark.parametrize("current", ["leave", "invite", "knock"])
def test_invite_of_left_invited_or_knocking_target_allowed(version: str, current: str) -> None:
    state = make_room(version, members={CAROL: current})
    allowed(member(CAROL, "invite", sender=CREATOR), state, version)


def test_invite_needs_invite_level(version: str) -> None:
    state = make_room(
        version, members={BOB: "join", DAVE: "join"}, users={DAVE: 50}, levels={"invite": 50}
    )
    refused(member(CAROL, "invite", sender=BOB), state, version, "not allowed to invite")
    allowed(member(CAROL, "invite", sender=DAVE), state, version)


def test_third_party_invite_membership_refused(version: str) -> None:
    """Bastion does not offer third-party invites (documented in auth_rules)."""
    event = member(CAROL, "invite", sender=CREATOR, third_party_invite={"signed": {}})
    refused(event, make_room(version), version, "third-party")


# --- leave, kick, unban --------------------------------------------------------------------------


@pytest.mark.parametrize("current", ["invite", "join", "knock"])
def test_self_leave_allowed_from_invite_join_or_knock(version: str, current: str) -> None:
    state = make_room(version, join_rule="knock", members={BOB: current})
    allowed(member(BOB, "leave"), state, version)


@pytest.mark.parametrize("current", ["leave", "ban", None])
def test_self_leave_refused_from_leave_or_ban(version: str, current: str | None) -> None:
    members = {} if current is None else {BOB: current}
    state = make_room(version, members=members)
    refused(member(BOB, "leave"), state, version, "not in the room")


def test_kick_with_kick_level_of_lower_target_allowed(version: str) -> None:
    state = make_room(version, members={BOB: "join", CAROL: "join"}, users={BOB: 50, CAROL: 10})
    allowed(member(CAROL, "leave", sender=BOB), state, version)


def test_kick_of_invited_user_allowed(version: str) -> None:
    """Revoking an invite is a kick."""
    state = make_room(version, members={BOB: "join", CAROL: "invite"}, users={BOB: 50})
    allowed(member(CAROL, "leave", sender=BOB), state, version)


def test_kick_below_kick_level_refused(version: str) -> None:
    state = make_room(
        version, members={BOB: "join", CAROL: "join"}, users={BOB: 40}, levels={"kick": 50}
    )
    refused(member(CAROL, "leave", sender=BOB), state, version, "not allowed to kick")


@pytest.mark.parametrize("target_level", [50, 75])
def test_kick_of_equal_or_higher_target_refused(version: str, target_level: int) -> None:
    state = make_room(
        version, members={BOB: "join", CAROL: "join"}, users={BOB: 50, CAROL: target_level}
    )
    refused(member(CAROL, "leave", sender=BOB), state, version, "equal or higher power")


def test_kick_by_non_joined_sender_refused(version: str) -> None:
    state = make_room(version, members={BOB: "leave", CAROL: "join"}, users={BOB: 100})
    refused(member(CAROL, "leave", sender=BOB), state, version, "must be in the room")


def test_unban_with_ban_level_allowed(version: str) -> None:
    state = make_room(version, members={BOB: "join", CAROL: "ban"}, users={BOB: 50})
    allowed(member(CAROL, "leave", sender=BOB), state, version)


def test_unban_without_ban_level_refused(version: str) -> None:
    state = make_room(
        version,
        members={BOB: "join", CAROL: "ban"},
        users={BOB: 50},
        levels={"ban": 60, "kick": 50},
    )
    refused(member(CAROL, "leave", sender=BOB), state, version, "not allowed to unban")


def test_unban_needs_kick_level_too(version: str) -> None:
    state = make_room(
        version,
        members={BOB: "join", CAROL: "ban"},
        users={BOB: 50},
        levels={"ban": 50, "kick": 60},
    )
    refused(member(CAROL, "leave", sender=BOB), state, version, "not allowed to kick")


def test_banned_user_cannot_unban_themselves(version: str) -> None:
    state = make_room(version, members={BOB: "ban"}, users={BOB: 100})
    refused(member(BOB, "leave"), state, version, "not in the room")


# --- ban -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("current", ["join", "leave", "invite", None])
def test_ban_with_ban_level_of_lower_target_allowed(version: str, current: str | None) -> None:
    members = {BOB: "join"} if current is None else {BOB: "join", CAROL: current}
    state = make_room(version, members=members, users={BOB: 50})
    allowed(member(CAROL, "ban", sender=BOB), state, version)


def test_ban_below_ban_level_refused(version: str) -> None:
    state = make_room(
        version, members={BOB: "join", CAROL: "join"}, users={BOB: 50}, levels={"ban": 51}
    )
    refused(member(CAROL, "ban", sender=BOB), state, version, "not allowed to ban")


@pytest.mark.parametrize("target_level", [50, 60])
def test_ban_of_equal_or_higher_target_refused(version: str, target_level: int) -> None:
    state = make_room(
        version, members={BOB: "join", CAROL: "join"}, users={BOB: 50, CAROL: target_level}
    )
    refused(member(CAROL, "ban", sender=BOB), state, version, "equal or higher power")


def test_ban_by_non_joined_sender_refused(version: str) -> None:
    state = make_room(version, members={BOB: "invite", CAROL: "join"}, users={BOB: 100})
    refused(member(CAROL, "ban", sender=BOB), state, version, "must be in the room")


# --- non-members, event power levels, state keys -------------------------------------------------


@pytest.mark.parametrize("current", ["invite", "leave", "ban", "knock", None])
def test_non_member_cannot_send_messages(version: str, current: str | None) -> None:
    members = {} if current is None else {BOB: current}
    state = make_room(version, join_rule="knock", members=members)
    refused(message(BOB), state, version, "not in the room")


def test_non_member_cannot_send_state(version: str) -> None:
    state = make_room(version, members={BOB: "leave"}, users={BOB: 100})
    refused(state_event("m.room.topic", BOB, topic="x"), state, version, "not in the room")


def test_joined_member_can_send_messages(version: str) -> None:
    allowed(message(BOB), make_room(version, members={BOB: "join"}), version)


def test_event_level_from_events_map(version: str) -> None:
    state = make_room(
        version,
        members={BOB: "join", CAROL: "join"},
        users={BOB: 59, CAROL: 60},
        levels={"events": {"m.room.name": 60, "m.reaction": 60}},
    )
    refused(state_event("m.room.name", BOB, name="x"), state, version, "power level 60")
    allowed(state_event("m.room.name", CAROL, name="x"), state, version)
    refused(AuthEvent("m.reaction", BOB, {}), state, version, "power level 60")
    allowed(AuthEvent("m.reaction", CAROL, {}), state, version)


def test_events_map_can_lower_a_state_event_level(version: str) -> None:
    state = make_room(version, members={BOB: "join"}, levels={"events": {"m.room.topic": 0}})
    allowed(state_event("m.room.topic", BOB, topic="x"), state, version)


def test_message_level_from_events_default(version: str) -> None:
    state = make_room(
        version,
        members={BOB: "join", CAROL: "join"},
        users={BOB: 9, CAROL: 10},
        levels={"events_default": 10},
    )
    refused(message(BOB), state, version, "power level 10")
    allowed(message(CAROL), state, version)


def test_state_level_from_state_default(version: str) -> None:
    state = make_room(
        version,
        members={BOB: "join", CAROL: "join"},
        users={BOB: 29, CAROL: 30},
        levels={"state_default": 30},
    )
    refused(state_event("m.room.topic", BOB, topic="x"), state, version, "power level 30")
    allowed(state_event("m.room.topic", CAROL, topic="x"), state, version)


def test_state_default_is_50_when_power_levels_exist(version: str) -> None:
    state = make_room(version, members={BOB: "join", CAROL: "join"}, users={BOB: 49, CAROL: 50})
    refused(state_event("m.room.topic", BOB, topic="x"), state, version, "power level 50")
    allowed(state_event("m.room.topic", CAROL, topic="x"), state, version)


def test_state_default_is_0_without_power_levels(version: str) -> None:
    state = make_room(version, members={BOB: "join"}, with_power_levels=False)
    allowed(state_event("m.room.topic", BOB, topic="x"), state, version)
    allowed(message(BOB), state, version)


def test_redaction_needs_its_event_level_not_the_redact_level(version: str) -> None:
    """The redact level is not part of the auth rules (spec note on m.room.redaction)."""
    state = make_room(version, members={BOB: "join"}, levels={"redact": 100})
    allowed(AuthEvent("m.room.redaction", BOB, {"redacts": "$x"}), state, version)
    state = make_room(version, members={BOB: "join"}, levels={"events": {"m.room.redaction": 10}})
    refused(AuthEvent("m.room.redaction", BOB, {"redacts": "$x"}), state, version)


def test_third_party_invite_event_needs_invite_level(version: str) -> None:
    state = make_room(
        version, members={BOB: "join", CAROL: "join"}, users={CAROL: 20}, levels={"invite": 20}
    )
    event_type = "m.room.third_party_invite"
    refused(state_event(event_type, BOB, "token"), state, version, "not allowed to invite")
    allowed(state_event(event_type, CAROL, "token"), state, version)


def test_third_party_invite_event_by_non_member_refused(version: str) -> None:
    state = make_room(version, members={BOB: "invite"})
    refused(state_event("m.room.third_party_invite", BOB, "t"), state, version, "not in the room")


def test_state_key_starting_with_at_must_be_sender(version: str) -> None:
    state = make_room(version, members={BOB: "join"}, users={BOB: 100})
    allowed(state_event("org.example.status", BOB, BOB, status="busy"), state, version)
    refused(
        state_event("org.example.status", BOB, CAROL, status="busy"),
        state,
        version,
        "belong to that user",
    )


def test_state_key_without_at_is_free(version: str) -> None:
    state = make_room(version, members={BOB: "join"}, users={BOB: 50})
    allowed(state_event("org.example.status", BOB, "alice", status="x"), state, version)


# --- power levels: content validation ------------------------------------------------------------

LEVEL_KEYS = ("users_default", "events_default", "state_default", "ban", "redact", "kick", "invite")


@pytest.mark.parametrize("key", LEVEL_KEYS)
@pytest.mark.parametrize("value", ["50", 50.0, True, None, [50], {"x": 1}])
def test_power_levels_non_integer_level_refused(version: str, key: str, value: object) -> None:
    content = {"users": base_users(version), key: value}
    state = make_room(version, with_power_levels=False)
    refused(power_event(content), state, version, f"{key} must be an integer")


@pytest.mark.parametrize("key", ["events", "notifications"])
@pytest.mark.parametrize(
    "value", [{"m.room.name": "50"}, {"x": 1.5}, {"x": True}, ["m.room.name"], 50]
)
def test_power_levels_non_integer_map_refused(version: str, key: str, value: object) -> None:
    content = {"users": base_users(version), key: value}
    state = make_room(version, with_power_levels=False)
    refused(power_event(content), state, version, f"{key} must map to integers")


@pytest.mark.parametrize(
    "users",
    [
        pytest.param({"bob": 50}, id="no-sigil"),
        pytest.param({"@bob": 50}, id="no-server"),
        pytest.param({"!room:example.org": 50}, id="room-id"),
        pytest.param({BOB: "50"}, id="string-level"),
        pytest.param({BOB: 1.5}, id="float-level"),
        pytest.param({BOB: False}, id="bool-level"),
        pytest.param([BOB], id="list"),
        pytest.param("users", id="string"),
    ],
)
def test_power_levels_invalid_users_refused(version: str, users: object) -> None:
    state = make_room(version, with_power_levels=False)
    refused(power_event({"users": users}), state, version, "users must map user IDs")


def test_power_levels_user_with_empty_server_name_refused() -> None:
    state = make_room("11", with_power_levels=False)
    refused(power_event({"users": {CREATOR: 100, "@bob:": 50}}), state, "11")


def test_first_power_levels_event_allowed(version: str) -> None:
    content = {
        "users": {**base_users(version), BOB: 100},
        "users_default": 0,
        "events": {"m.room.name": 50, "m.room.power_levels": 100},
        "events_default": 0,
        "state_default": 50,
        "ban": 50,
        "kick": 50,
        "redact": 50,
        "invite": 0,
        "notifications": {"room": 50},
    }
    allowed(power_event(content), make_room(version, with_power_levels=False), version)


def test_power_levels_with_no_users_key_allowed(version: str) -> None:
    allowed(power_event({"ban": 50}), make_room(version, with_power_levels=False), version)


def test_power_levels_needs_its_event_level(version: str) -> None:
    state = make_room(
        version,
        members={BOB: "join"},
        users={BOB: 50},
        levels={"events": {POWER: 100}},
    )
    new = {"users": {**base_users(version), BOB: 50}, "events": {POWER: 100}, "ban": 40}
    refused(power_event(new, sender=BOB), state, version, "power level 100")


# --- power levels: changes -----------------------------------------------------------------------


def changing_room(version: str) -> tuple[dict[StateKey, AuthEvent], dict[str, Any]]:
    """A room where BOB (50) edits power levels; returns (state, current content)."""
    users = {BOB: 50, CAROL: 20, DAVE: 50, ERIN: 75}
    levels: dict[str, Any] = {
        "ban": 50,
        "kick": 75,
        "redact": 50,
        "invite": 0,
        "state_default": 50,
        "events_default": 0,
        "users_default": 0,
        "events": {"m.room.name": 40, "m.room.tombstone": 100},
        "notifications": {"room": 50},
    }
    state = make_room(version, members={BOB: "join"}, users=users, levels=levels)
    return state, dict(state[(POWER, "")].content)


def change(
    version: str, edit: dict[str, Any], nested: tuple[str, str, int | None] | None = None
) -> tuple[AuthEvent, dict[StateKey, AuthEvent]]:
    """BOB's power-levels event with top-level `edit` (None deletes) and one nested edit."""
    state, content = changing_room(version)
    content = {k: (dict(v) if isinstance(v, dict) else v) for k, v in content.items()}
    for key, value in edit.items():
        if value is None:
            content.pop(key, None)
        else:
            content[key] = value
    if nested is not None:
        section, name, level = nested
        if level is None:
            content[section].pop(name, None)
        else:
            content[section][name] = level
    return power_event(content, sender=BOB), state


@pytest.mark.parametrize(
    ("user", "level"),
    [
        pytest.param(CAROL, 50, id="raise-lower-user-to-own-level"),
        pytest.param(CAROL, 0, id="lower-lower-user"),
        pytest.param(CAROL, None, id="remove-lower-user"),
        pytest.param("@new:example.org", 50, id="add-user-at-own-level"),
        pytest.param(BOB, 10, id="lower-self"),
        pytest.param(BOB, None, id="remove-self"),
    ],
)
def test_user_level_change_allowed(version: str, user: str, level: int | None) -> None:
    event, state = change(version, {}, ("users", user, level))
    allowed(event, state, version)


@pytest.mark.parametrize(
    ("user", "level"),
    [
        pytest.param(CAROL, 51, id="raise-lower-user-above-own-level"),
        pytest.param("@new:example.org", 51, id="add-user-above-own-level"),
        pytest.param(BOB, 51, id="raise-self"),
    ],
)
def test_cannot_raise_anyone_above_own_level(version: str, user: str, level: int) -> None:
    event, state = change(version, {}, ("users", user, level))
    refused(event, state, version, "above your own level")


@pytest.mark.parametrize(
    ("user", "level"),
    [
        pytest.param(DAVE, 40, id="lower-equal-user"),
        pytest.param(DAVE, None, id="remove-equal-user"),
        pytest.param(ERIN, 50, id="lower-higher-user"),
        pytest.param(ERIN, None, id="remove-higher-user"),
    ],
)
def test_cannot_change_user_at_or_above_own_level(
    version: str, user: str, level: int | None
) -> None:
    event, state = change(version, {}, ("users", user, level))
    refused(event, state, version, "not below you")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        pytest.param("ban", 40, id="lower-ban"),
        pytest.param("ban", None, id="remove-ban"),
        pytest.param("redact", 50, id="unchanged"),
        pytest.param("invite", 50, id="raise-invite-to-own-level"),
        pytest.param("users_default", 10, id="raise-users-default"),
        pytest.param("state_default", None, id="remove-state-default"),
    ],
)
def test_level_key_change_within_own_level_allowed(
    version: str, key: str, value: int | None
) -> None:
    event, state = change(version, {key: value})
    allowed(event, state, version)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        pytest.param("ban", 51, id="raise-ban-above-own"),
        pytest.param("invite", 100, id="raise-invite-above-own"),
        pytest.param("events_default", 60, id="raise-events-default-above-own"),
        pytest.param("kick", 40, id="lower-kick-that-is-above-own"),
        pytest.param("kick", None, id="remove-kick-that-is-above-own"),
    ],
)
def test_level_key_change_beyond_own_level_refused(
    version: str, key: str, value: int | None
) -> None:
    event, state = change(version, {key: value})
    refused(event, state, version, f"cannot change {key} beyond your own level")


@pytest.mark.parametrize(
    "nested",
    [
        pytest.param(("events", "m.room.name", 50), id="raise-event-to-own-level"),
        pytest.param(("events", "m.room.name", None), id="remove-event-below-own"),
        pytest.param(("events", "m.room.topic", 30), id="add-event-below-own"),
        pytest.param(("notifications", "room", 20), id="lower-notification"),
    ],
)
def test_events_and_notifications_change_within_own_level_allowed(
    version: str, nested: tuple[str, str, int | None]
) -> None:
    event, state = change(version, {}, nested)
    allowed(event, state, version)


@pytest.mark.parametrize(
    "nested",
    [
        pytest.param(("events", "m.room.name", 51), id="raise-event-above-own"),
        pytest.param(("events", "m.room.topic", 60), id="add-event-above-own"),
        pytest.param(("events", "m.room.tombstone", 50), id="lower-event-above-own"),
        pytest.param(("events", "m.room.tombstone", None), id="remove-event-above-own"),
        pytest.param(("notifications", "room", 100), id="raise-notification-above-own"),
    ],
)
def test_events_and_notifications_change_beyond_own_level_refused(
    version: str, nested: tuple[str, str, int | None]
) -> None:
    event, state = change(version, {}, nested)
    refused(event, state, version, f"cannot change {nested[0]}.{nested[1]}")


# --- creators: v12 infinite power, v10/v11 level 100 ---------------------------------------------


def v12_room(**kwargs: Any) -> dict[StateKey, AuthEvent]:
    return make_room("12", additional_creators=[BOB], **kwargs)


@pytest.mark.parametrize("creator", [CREATOR, BOB])
def test_v12_creators_can_kick_and_ban_anyone_else(creator: str) -> None:
    state = v12_room(members={BOB: "join", CAROL: "join"}, users={CAROL: 2**53 - 1})
    allowed(member(CAROL, "leave", sender=creator), state, "12")
    allowed(member(CAROL, "ban", sender=creator), state, "12")


@pytest.mark.parametrize("creator", [CREATOR, BOB])
def test_v12_creators_cannot_be_kicked_or_banned_by_pl_100(creator: str) -> None:
    state = v12_room(members={BOB: "join", CAROL: "join"}, users={CAROL: 100})
    refused(member(creator, "leave", sender=CAROL), state, "12", "equal or higher")
    refused(member(creator, "ban", sender=CAROL), state, "12", "equal or higher")


def test_v12_creators_cannot_kick_each_other() -> None:
    state = v12_room(members={BOB: "join"})
    refused(member(BOB, "leave", sender=CREATOR), state, "12", "equal or higher")


def test_v12_creators_pass_any_event_level() -> None:
    state = v12_room(members={BOB: "join"}, levels={"events": {"m.room.tombstone": 2**53 - 1}})
    allowed(state_event("m.room.tombstone", BOB, body="bye"), state, "12")


def test_v12_creator_can_set_any_level() -> None:
    state = v12_room(members={BOB: "join"}, users={CAROL: 100})
    content = {"users": {CAROL: 2**53 - 1}, "ban": 1000, "events": {"x": 5000}}
    allowed(power_event(content, sender=BOB), state, "12")


@pytest.mark.parametrize("creator", [CREATOR, BOB])
def test_v12_creators_may_not_appear_in_power_levels_users(creator: str) -> None:
    first = make_room("12", additional_creators=[BOB], with_power_levels=False)
    refused(power_event({"users": {creator: 100}}), first, "12", "creators")
    later = v12_room(members={BOB: "join"})
    refused(power_event({"users": {creator: 100}}), later, "12", "creators")


@pytest.mark.parametrize("room_version", ["10", "11"])
def test_creator_may_appear_in_users_before_v12(room_version: str) -> None:
    state = make_room(room_version, with_power_levels=False)
    allowed(power_event({"users": {CREATOR: 100, BOB: 50}}), state, room_version)


@pytest.mark.parametrize("room_version", ["10", "11"])
def test_additional_creators_have_no_power_before_v12(room_version: str) -> None:
    state = make_room(room_version, additional_creators=[BOB], members={BOB: "join", CAROL: "join"})
    refused(member(CAROL, "leave", sender=BOB), state, room_version, "not allowed to kick")


@pytest.mark.parametrize("room_version", ["10", "11"])
def test_creator_has_100_without_power_levels(room_version: str) -> None:
    state = make_room(room_version, with_power_levels=False, members={BOB: "join"})
    allowed(member(BOB, "ban", sender=CREATOR), state, room_version)
    refused(member(CREATOR, "leave", sender=BOB), state, room_version, "not allowed to kick")


def test_v12_creator_has_infinite_power_without_power_levels() -> None:
    state = make_room("12", with_power_levels=False, members={BOB: "join"})
    allowed(member(BOB, "ban", sender=CREATOR), state, "12")
    refused(member(CREATOR, "leave", sender=BOB), state, "12", "not allowed to kick")


@pytest.mark.parametrize("room_version", ["10", "11"])
def test_creator_is_outranked_by_power_levels_before_v12(room_version: str) -> None:
    """Once power levels exist, v10/v11 creators have only the level they list."""
    state = make_room(room_version, members={BOB: "join"}, users={CREATOR: 50, BOB: 100})
    allowed(member(CREATOR, "ban", sender=BOB), state, room_version)


def test_v10_creator_comes_from_content_creator() -> None:
    create = AuthEvent(
        CREATE, BOB, {"room_version": "10", "creator": CREATOR}, "", event_id=CREATE_ID
    )
    state: dict[StateKey, AuthEvent] = {(CREATE, ""): create}
    allowed(member(CREATOR, "join", prev_events=(CREATE_ID,)), state, "10")
    refused(member(BOB, "join", prev_events=(CREATE_ID,)), state, "10")
    state[(MEMBER, CREATOR)] = member(CREATOR, "join")
    state[(MEMBER, CAROL)] = member(CAROL, "join")
    allowed(member(CAROL, "ban", sender=CREATOR), state, "10")


# --- auth event selection ------------------------------------------------------------------------


def test_auth_event_keys_for_a_message(version: str) -> None:
    keys = auth_event_keys("m.room.message", None, BOB, {}, version)
    expected = [(POWER, ""), (MEMBER, BOB)]
    assert keys == (expected if version == "12" else [(CREATE, ""), *expected])


@pytest.mark.parametrize("membership", ["join", "invite", "knock"])
def test_auth_event_keys_for_membership_include_join_rules(version: str, membership: str) -> None:
    keys = auth_event_keys(MEMBER, CAROL, BOB, {"membership": membership}, version)
    assert set(keys) >= {(POWER, ""), (MEMBER, BOB), (MEMBER, CAROL), (JOIN_RULES, "")}
    assert ((CREATE, "") in keys) is (version != "12")


@pytest.mark.parametrize("membership", ["leave", "ban"])
def test_auth_event_keys_for_leave_and_ban_skip_join_rules(version: str, membership: str) -> None:
    keys = auth_event_keys(MEMBER, CAROL, BOB, {"membership": membership}, version)
    assert (JOIN_RULES, "") not in keys


def test_auth_event_keys_are_deduplicated(version: str) -> None:
    keys = auth_event_keys(MEMBER, BOB, BOB, {"membership": "join"}, version)
    assert len(keys) == len(set(keys))
    assert keys.count((MEMBER, BOB)) == 1
