"""Evaluating events through a user's compiled push rules (spec: client-server-api#push-rules,
#predefined-rules, #historical-actions): which rule matches, and whether it notifies or
highlights."""

from __future__ import annotations

from typing import Any

import pytest

from bastion.events.power_levels import PowerLevels
from bastion.events.push_rules import edits
from bastion.events.push_rules.conditions import PushEvent, RoomFacts
from bastion.events.push_rules.evaluate import (
    PushOutcome,
    clean_actions,
    compile_ruleset,
    first_match,
    outcome,
)
from bastion.events.push_rules.rules import MASTER, UserPushRules, ruleset
from tests.unit.events.push_helpers import ALICE, BOB, CAROL, HIGHLIGHT, ROOM, SOUND

# --- helpers -------------------------------------------------------------------------------------


def message(body: str = "hello", /, **content: Any) -> dict[str, Any]:
    """A message from Bob; `content` adds to (or replaces) msgtype and body."""
    return {
        "type": "m.room.message",
        "sender": BOB,
        "room_id": ROOM,
        "event_id": "$event",
        "content": {"msgtype": "m.text", "body": body, **content},
    }


def event_of(
    event_type: str, content: dict[str, Any], state_key: str | None = None
) -> dict[str, Any]:
    event = {"type": event_type, "sender": BOB, "room_id": ROOM, "content": content}
    if state_key is not None:
        event["state_key"] = state_key
    return event


def evaluate(
    event: dict[str, Any],
    *,
    user: str = ALICE,
    custom: UserPushRules | None = None,
    members: int = 3,
    power: PowerLevels | None = None,
    name: str | None = None,
    memo: dict[tuple[Any, ...], bool] | None = None,
) -> tuple[str | None, PushOutcome]:
    compiled = compile_ruleset(ruleset(user, custom or UserPushRules()))
    facts = RoomFacts(members, event["sender"], power)
    rule = first_match(compiled, PushEvent(event), facts, display_name=name, memo=memo)
    return (rule.rule_id if rule else None), outcome(rule.actions if rule else [])


def test_plain_message_in_a_group_room_notifies_without_highlight() -> None:
    rule_id, result = evaluate(message(), members=3)
    assert rule_id == ".m.rule.message"
    assert (result.notify, result.highlight, result.actions) == (True, False, ["notify"])


def test_plain_message_in_a_two_member_room_is_one_to_one_with_sound() -> None:
    rule_id, result = evaluate(message(), members=2)
    assert rule_id == ".m.rule.room_one_to_one"
    assert result.actions == ["notify", SOUND]
    assert (result.notify, result.highlight) == (True, False)


@pytest.mark.parametrize(
    ("event", "rule_id"),
    [
        (message(msgtype="m.notice"), ".m.rule.suppress_notices"),
        (
            message(msgtype="m.notice", **{"m.mentions": {"user_ids": [ALICE]}}),
            ".m.rule.suppress_notices",  # notices are suppressed before mentions are looked at
        ),
        (
            event_of("m.reaction", {"m.relates_to": {"rel_type": "m.annotation", "key": "👍"}}),
            ".m.rule.reaction",
        ),
        (
            message("* hi", **{"m.relates_to": {"rel_type": "m.replace", "event_id": "$e"}}),
            ".m.rule.suppress_edits",
        ),
        (event_of("m.room.server_acl", {"allow": ["*"]}, ""), ".m.rule.room.server_acl"),
        (event_of("m.room.member", {"membership": "join"}, ALICE), ".m.rule.member_event"),
        (event_of("m.room.member", {"membership": "invite"}, CAROL), ".m.rule.member_event"),
        (event_of("m.room.tombstone", {"body": "gone"}, "x"), None),
        (event_of("m.room.topic", {"topic": "hi"}, ""), None),
    ],
)
@pytest.mark.parametrize("members", [2, 3])
def test_silent_events(event: dict[str, Any], rule_id: str | None, members: int) -> None:
    matched, result = evaluate(event, members=members)
    assert matched == rule_id
    assert (result.notify, result.highlight, result.actions) == (False, False, [])


def test_user_mention_highlights() -> None:
    event = message("hey", **{"m.mentions": {"user_ids": [CAROL, ALICE]}})
    rule_id, result = evaluate(event)
    assert rule_id == ".m.rule.is_user_mention"
    assert (result.notify, result.highlight) == (True, True)
    assert result.actions == ["notify", SOUND, HIGHLIGHT]
    # Another member of the room is not mentioned; a body naming Alice is not a mention (v1.17).
    assert evaluate(event, user=CAROL)[0] == ".m.rule.is_user_mention"
    assert evaluate(event, user=BOB)[0] == ".m.rule.message"
    assert evaluate(message("@alice:example.org alice"), user=ALICE)[0] == ".m.rule.message"


def test_room_mention_needs_the_senders_permission() -> None:
    event = message("@room", **{"m.mentions": {"room": True}})
    allowed = PowerLevels.from_state({"users": {BOB: 50}}, frozenset({CAROL}), "11")
    rule_id, result = evaluate(event, power=allowed)
    assert rule_id == ".m.rule.is_room_mention"
    assert (result.notify, result.highlight) == (True, True)

    denied = PowerLevels.from_state({"users": {BOB: 49}}, frozenset({CAROL}), "11")
    rule_id, result = evaluate(event, power=denied)
    assert rule_id == ".m.rule.message"
    assert (result.notify, result.highlight) == (True, False)
    assert evaluate(event, power=denied, members=2)[0] == ".m.rule.room_one_to_one"
    assert evaluate(event, power=None)[0] == ".m.rule.message"

    creator = PowerLevels.from_state({"notifications": {"room": 100}}, frozenset({BOB}), "12")
    assert evaluate(event, power=creator)[1].highlight
    # "room": "true" is not `true`
    assert (
        evaluate(message("@room", **{"m.mentions": {"room": "true"}}), power=allowed)[0]
        == ".m.rule.message"
    )


def test_invite_for_the_user_notifies() -> None:
    invite = event_of("m.room.member", {"membership": "invite"}, ALICE)
    rule_id, result = evaluate(invite, members=2)
    assert rule_id == ".m.rule.invite_for_me"
    assert (result.notify, result.highlight, result.actions) == (True, False, ["notify", SOUND])
    assert evaluate(invite, user=CAROL)[0] == ".m.rule.member_event"


@pytest.mark.parametrize(
    ("members", "rule_id", "actions"),
    [
        (2, ".m.rule.encrypted_room_one_to_one", ["notify", SOUND]),
        (3, ".m.rule.encrypted", ["notify"]),
        (1, ".m.rule.encrypted", ["notify"]),
    ],
)
def test_encrypted_events(members: int, rule_id: str, actions: list[Any]) -> None:
    event = event_of("m.room.encrypted", {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "x"})
    matched, result = evaluate(event, members=members)
    assert (matched, result.actions, result.notify, result.highlight) == (
        rule_id,
        actions,
        True,
        False,
    )


def test_tombstone_highlights_and_call_rings() -> None:
    rule_id, result = evaluate(event_of("m.room.tombstone", {"body": "moved"}, ""))
    assert rule_id == ".m.rule.tombstone"
    assert (result.notify, result.highlight) == (True, True)
    rule_id, result = evaluate(event_of("m.call.invite", {"call_id": "c"}))
    assert rule_id == ".m.rule.call"
    assert result.actions == ["notify", {"set_tweak": "sound", "value": "ring"}]


def test_master_is_disabled_by_default_and_silences_everything_when_enabled() -> None:
    assert MASTER not in [r.rule_id for r in compile_ruleset(ruleset(ALICE, UserPushRules())).rules]
    muted = edits.set_enabled(UserPushRules(), "override", MASTER, True)
    muted = edits.put_rule(muted, "override", "loud", {"actions": ["notify", HIGHLIGHT]})
    for event in (
        message(),
        message(**{"m.mentions": {"user_ids": [ALICE]}}),
        event_of("m.room.member", {"membership": "invite"}, ALICE),
        event_of("m.room.tombstone", {}, ""),
    ):
        rule_id, result = evaluate(event, custom=muted, members=2)
        assert rule_id == MASTER
        assert (result.notify, result.highlight, result.actions) == (False, False, [])
    unmuted = edits.set_enabled(muted, "override", MASTER, False)
    assert evaluate(message(), custom=unmuted)[0] == "loud"


def test_kinds_are_tried_in_priority_order() -> None:
    custom = edits.put_rule(
        UserPushRules(), "content", "tea", {"actions": ["notify", HIGHLIGHT], "pattern": "tea"}
    )
    custom = edits.put_rule(custom, "room", ROOM, {"actions": []})
    custom = edits.put_rule(custom, "sender", BOB, {"actions": ["notify", SOUND]})
    # content beats room, room beats sender, sender beats underride; overrides beat them all.
    assert evaluate(message("Tea time?"), custom=custom)[0] == "tea"
    assert evaluate(message("coffee"), custom=custom)[0] == ROOM
    assert evaluate({**message("coffee"), "room_id": "!other:example.org"}, custom=custom)[0] == BOB
    assert (
        evaluate(message("tea", **{"m.mentions": {"user_ids": [ALICE]}}), custom=custom)[0]
        == ".m.rule.is_user_mention"
    )
    assert evaluate(message("teapot"), custom=custom)[0] == ROOM


def test_disabled_rules_never_match() -> None:
    custom = edits.set_enabled(UserPushRules(), "underride", ".m.rule.message", False)
    assert evaluate(message(), custom=custom)[0] is None
    custom = edits.set_enabled(UserPushRules(), "override", ".m.rule.suppress_notices", False)
    assert evaluate(message(msgtype="m.notice"), custom=custom)[0] == ".m.rule.message"


def test_historical_actions_are_stripped() -> None:
    assert clean_actions(["dont_notify"]) == []
    assert clean_actions(["notify", "coalesce", SOUND, "dont_notify"]) == ["notify", SOUND]
    custom = edits.put_rule(UserPushRules(), "override", "old", {"actions": ["dont_notify"]})
    rule_id, result = evaluate(message(), custom=custom)
    assert (rule_id, result.actions, result.notify) == ("old", [], False)
    custom = edits.set_actions(
        UserPushRules(), "underride", ".m.rule.message", ["notify", "coalesce"]
    )
    assert evaluate(message(), custom=custom)[1].actions == ["notify"]


@pytest.mark.parametrize(
    ("actions", "notify", "highlight"),
    [
        ([], False, False),
        (["notify"], True, False),
        ([HIGHLIGHT], False, True),
        ([{"set_tweak": "highlight", "value": True}], False, True),
        (["notify", {"set_tweak": "highlight", "value": False}], True, False),
        (["notify", {"set_tweak": "highlight", "value": "true"}], True, False),
        ([{"set_tweak": "sound", "value": "highlight"}], False, False),
        (["highlight", "Notify"], False, False),
    ],
)
def test_outcome(actions: list[Any], notify: bool, highlight: bool) -> None:
    result = outcome(actions)
    assert (result.notify, result.highlight, result.actions) == (notify, highlight, actions)


def test_compiled_ruleset_says_what_it_needs() -> None:
    default = compile_ruleset(ruleset(ALICE, UserPushRules()))
    assert default.needs_power_levels  # .m.rule.is_room_mention
    assert not default.needs_display_name  # the body-based defaults are gone in v1.17
    quiet = edits.set_enabled(UserPushRules(), "override", ".m.rule.is_room_mention", False)
    assert not compile_ruleset(ruleset(ALICE, quiet)).needs_power_levels
    named = edits.put_rule(
        UserPushRules(),
        "override",
        "name",
        {"actions": ["notify"], "conditions": [{"kind": "contains_display_name"}]},
    )
    assert compile_ruleset(ruleset(ALICE, named)).needs_display_name


# --- memo shared across users --------------------------------------------------------------------


def test_shared_memo_gives_the_same_answers() -> None:
    name_rule = {
        "actions": ["notify", HIGHLIGHT],
        "conditions": [{"kind": "contains_display_name"}],
    }
    customs = {
        ALICE: edits.put_rule(UserPushRules(), "override", "name", name_rule),
        CAROL: edits.put_rule(UserPushRules(), "override", "name", name_rule),
        "@dave:example.org": UserPushRules(),
    }
    names = {ALICE: "Alice", CAROL: "Carol", "@dave:example.org": "Dave"}
    power = PowerLevels.from_state({"users": {BOB: 100}}, frozenset({BOB}), "11")
    events = [
        message("hi", **{"m.mentions": {"user_ids": [ALICE]}}),
        message("hi carol"),
        message("@room", **{"m.mentions": {"room": True}}),
        message("hi"),
        event_of("m.room.member", {"membership": "invite"}, CAROL),
    ]
    for event in events:
        for order in (list(customs), list(reversed(customs))):
            alone = {
                u: evaluate(event, user=u, custom=customs[u], power=power, name=names[u])
                for u in order
            }
            memo: dict[tuple[Any, ...], bool] = {}
            shared = {
                u: evaluate(event, user=u, custom=customs[u], power=power, name=names[u], memo=memo)
                for u in order
            }
            assert shared == alone
            assert memo  # the owner-independent answers were shared
    mention = events[0]
    assert (
        evaluate(mention, user=ALICE, custom=customs[ALICE], name="Alice")[0]
        == ".m.rule.is_user_mention"
    )
    assert (
        evaluate(mention, user=CAROL, custom=customs[CAROL], name="Carol")[0] == ".m.rule.message"
    )
    assert evaluate(events[1], user=CAROL, custom=customs[CAROL], name="Carol")[0] == "name"
    assert (
        evaluate(events[1], user=ALICE, custom=customs[ALICE], name="Alice")[0] == ".m.rule.message"
    )
