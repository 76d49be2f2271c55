"""Changing a user's push rules (spec: client-server-api#push-rules-api, pushrules.yaml): the
checks and pure edits behind PUT/DELETE /pushrules and their enabled/actions sub-resources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bastion.errors import Errcode, MatrixError
from bastion.events.push_rules import edits
from bastion.events.push_rules.conditions import PushEvent, RoomFacts
from bastion.events.push_rules.evaluate import compile_ruleset, first_match
from bastion.events.push_rules.rules import (
    MASTER,
    DefaultRuleSetting,
    PushRule,
    UserPushRules,
    effective_conditions,
    rule_json,
    ruleset,
)
from tests.unit.events.push_helpers import ALICE, BOB, ROOM

OTHER_ROOM = "!other:example.org"
NOTIFY = {"actions": ["notify"]}


def user_ids(custom: UserPushRules, kind: str) -> list[str]:
    """The user's own rules of `kind`, in order."""
    return [r.rule_id for r in custom.rules.get(kind, [])]


def refused(call: Callable[[], object], status: int, errcode: Errcode) -> MatrixError:
    with pytest.raises(MatrixError) as exc:
        call()
    assert (exc.value.status, exc.value.errcode) == (status, errcode)
    return exc.value


def put(custom: UserPushRules, rule_id: str, **where: str) -> UserPushRules:
    return edits.put_rule(custom, "override", rule_id, {"actions": [], "conditions": []}, **where)


# --- put_rule: placement -------------------------------------------------------------------------


def test_new_rules_go_to_the_top_enabled() -> None:
    custom = put(put(UserPushRules(), "a"), "b")
    assert user_ids(custom, "override") == ["b", "a"]
    assert all(r.enabled and not r.default for r in custom.rules["override"])
    effective = [r.rule_id for r in ruleset(ALICE, custom)["override"]]
    assert effective[:4] == [MASTER, "b", "a", ".m.rule.suppress_notices"]


def test_before_and_after_place_next_to_a_user_rule() -> None:
    custom = put(put(UserPushRules(), "a"), "b")  # [b, a]
    custom = put(custom, "c", before="a")
    assert user_ids(custom, "override") == ["b", "c", "a"]
    custom = put(custom, "d", after="b")
    assert user_ids(custom, "override") == ["b", "d", "c", "a"]
    custom = put(custom, "e", after="a")
    assert user_ids(custom, "override") == ["b", "d", "c", "a", "e"]
    custom = put(custom, "f", before="b")
    assert user_ids(custom, "override") == ["f", "b", "d", "c", "a", "e"]


def test_before_wins_when_both_are_given() -> None:
    custom = put(put(put(UserPushRules(), "a"), "b"), "c")  # [c, b, a]
    custom = put(custom, "d", before="a", after="c")
    assert user_ids(custom, "override") == ["c", "b", "d", "a"]


@pytest.mark.parametrize("anchor", ["missing", ".m.rule.suppress_notices", MASTER, "x"])
def test_anchor_must_be_a_user_rule_of_the_same_kind(anchor: str) -> None:
    custom = put(UserPushRules(), "a")
    custom = edits.put_rule(custom, "underride", "x", {"actions": []})
    for where in ({"before": anchor}, {"after": anchor}):
        refused(lambda: put(custom, "new", **where), 400, Errcode.UNKNOWN)  # noqa: B023


def test_update_keeps_position_and_enabled_flag() -> None:
    custom = put(put(put(UserPushRules(), "a"), "b"), "c")  # [c, b, a]
    custom = edits.set_enabled(custom, "override", "b", False)
    updated = edits.put_rule(
        custom, "override", "b", {"actions": ["notify"], "conditions": [{"kind": "x"}]}
    )
    assert user_ids(updated, "override") == ["c", "b", "a"]
    rule = updated.rules["override"][1]
    assert rule == PushRule("b", ["notify"], enabled=False, conditions=[{"kind": "x"}])
    moved = put(updated, "b", after="a")
    assert user_ids(moved, "override") == ["c", "a", "b"]
    assert moved.rules["override"][2].enabled is False


def test_edits_do_not_change_the_original_document() -> None:
    original = put(UserPushRules(), "a")
    put(original, "b")
    edits.set_enabled(original, "override", "a", False)
    edits.set_enabled(original, "override", MASTER, True)
    edits.delete_rule(original, "override", "a")
    assert original == UserPushRules(rules={"override": [PushRule("a", [], conditions=[])]})


def test_rule_count_is_limited_but_updates_still_work() -> None:
    rules = [PushRule(f"r{i}", []) for i in range(edits.MAX_USER_RULES)]
    full = UserPushRules(rules={"room": rules})
    refused(lambda: put(full, "one_more"), 400, Errcode.UNKNOWN)
    updated = edits.put_rule(full, "room", "r7", NOTIFY)
    assert updated.rules["room"][7].actions == ["notify"]


# --- put_rule: checks ----------------------------------------------------------------------------


@pytest.mark.parametrize("rule_id", [".mine", ".m.rule.master", "a/b", "a\\b", "/", ""])
def test_reserved_or_invalid_rule_ids_are_refused(rule_id: str) -> None:
    for kind in ("override", "content", "room", "sender", "underride"):
        body = {"actions": [], "pattern": "x", "conditions": []}
        refused(lambda: edits.put_rule(UserPushRules(), kind, rule_id, body), 400, Errcode.UNKNOWN)  # noqa: B023


def test_default_rule_cannot_be_replaced() -> None:
    error = refused(
        lambda: edits.put_rule(UserPushRules(), "override", ".m.rule.suppress_notices", NOTIFY),
        400,
        Errcode.UNKNOWN,
    )
    assert "reserved" in error.message


@pytest.mark.parametrize(
    "body", [{"actions": []}, {"actions": [], "pattern": ""}, {"actions": [], "pattern": 5}]
)
def test_content_rule_needs_a_pattern(body: dict[str, Any]) -> None:
    refused(lambda: edits.put_rule(UserPushRules(), "content", "tea", body), 400, Errcode.UNKNOWN)


def test_content_rule_keeps_its_pattern() -> None:
    custom = edits.put_rule(UserPushRules(), "content", "tea", {"actions": [], "pattern": "t?a*"})
    assert custom.rules["content"] == [PushRule("tea", [], pattern="t?a*")]
    assert rule_json("content", custom.rules["content"][0]) == {
        "rule_id": "tea",
        "actions": [],
        "default": False,
        "enabled": True,
        "pattern": "t?a*",
    }


def test_conditions_are_only_kept_for_override_and_underride() -> None:
    body = {"actions": [], "conditions": [{"kind": "event_match", "key": "type", "pattern": "x"}]}
    for kind in ("override", "underride"):
        rule = edits.put_rule(UserPushRules(), kind, "r", body).rules[kind][0]
        assert rule.conditions == body["conditions"]
        assert rule_json(kind, rule)["conditions"] == body["conditions"]
    no_conditions = edits.put_rule(UserPushRules(), "override", "r", {"actions": []})
    assert no_conditions.rules["override"][0].conditions == []
    room = edits.put_rule(UserPushRules(), "room", ROOM, body).rules["room"][0]
    assert room.conditions is None
    assert "conditions" not in rule_json("room", room)
    assert "pattern" not in rule_json("room", room)


@pytest.mark.parametrize(
    "conditions", ["x", {"kind": "event_match"}, [{"key": "type"}], [5], [{"kind": 5}]]
)
def test_malformed_conditions_are_refused(conditions: object) -> None:
    body = {"actions": [], "conditions": conditions}
    refused(lambda: edits.put_rule(UserPushRules(), "override", "r", body), 400, Errcode.BAD_JSON)


@pytest.mark.parametrize(
    ("actions", "errcode"),
    [
        (["ring"], Errcode.UNKNOWN),
        (["notify", "Notify"], Errcode.UNKNOWN),
        ([{"value": "default"}], Errcode.UNKNOWN),
        ([{"set_tweak": 5}], Errcode.UNKNOWN),
        ([5], Errcode.UNKNOWN),
        ([["notify"]], Errcode.UNKNOWN),
        ("notify", Errcode.BAD_JSON),
        ({"set_tweak": "sound"}, Errcode.BAD_JSON),
        (None, Errcode.BAD_JSON),
    ],
)
def test_bad_actions_are_refused(actions: object, errcode: Errcode) -> None:
    refused(
        lambda: edits.put_rule(UserPushRules(), "room", ROOM, {"actions": actions}), 400, errcode
    )
    refused(
        lambda: edits.set_actions(UserPushRules(), "underride", ".m.rule.message", actions),
        400,
        errcode,
    )


def test_missing_actions_are_refused() -> None:
    refused(lambda: edits.put_rule(UserPushRules(), "room", ROOM, {}), 400, Errcode.BAD_JSON)


@pytest.mark.parametrize(
    "actions",
    [
        [],
        ["notify"],
        ["notify", {"set_tweak": "sound", "value": "default"}, {"set_tweak": "highlight"}],
        ["dont_notify"],
        ["coalesce"],
        [{"set_tweak": "org.example.light", "value": [1]}],
    ],
)
def test_valid_actions_are_kept(actions: list[Any]) -> None:
    custom = edits.put_rule(UserPushRules(), "room", ROOM, {"actions": actions})
    assert custom.rules["room"][0].actions == actions


@pytest.mark.parametrize("kind", ["global", "Override", "", "overrides"])
def test_unknown_kind_is_an_invalid_param(kind: str) -> None:
    custom = put(UserPushRules(), "a")
    calls: list[Callable[[], object]] = [
        lambda: edits.put_rule(custom, kind, "a", NOTIFY),
        lambda: edits.delete_rule(custom, kind, "a"),
        lambda: edits.set_enabled(custom, kind, "a", False),
        lambda: edits.set_actions(custom, kind, "a", []),
        lambda: edits.find_rule(ALICE, custom, kind, "a"),
        lambda: edits.require_kind(kind),
    ]
    for call in calls:
        refused(call, 400, Errcode.INVALID_PARAM)


# --- delete_rule ---------------------------------------------------------------------------------


def test_delete_removes_only_that_rule() -> None:
    custom = put(put(put(UserPushRules(), "a"), "b"), "c")
    custom = edits.delete_rule(custom, "override", "b")
    assert user_ids(custom, "override") == ["c", "a"]
    refused(lambda: edits.find_rule(ALICE, custom, "override", "b"), 404, Errcode.NOT_FOUND)


def test_delete_unknown_rule_is_not_found() -> None:
    custom = put(UserPushRules(), "a")
    refused(lambda: edits.delete_rule(custom, "override", "zzz"), 404, Errcode.NOT_FOUND)
    refused(lambda: edits.delete_rule(custom, "underride", "a"), 404, Errcode.NOT_FOUND)


@pytest.mark.parametrize(
    ("kind", "rule_id"),
    [
        ("override", MASTER),
        ("override", ".m.rule.is_user_mention"),
        ("underride", ".m.rule.message"),
    ],
)
def test_default_rules_cannot_be_deleted(kind: str, rule_id: str) -> None:
    refused(lambda: edits.delete_rule(UserPushRules(), kind, rule_id), 400, Errcode.UNKNOWN)
    assert rule_id in [r.rule_id for r in ruleset(ALICE, UserPushRules())[kind]]


# --- set_enabled / set_actions / find_rule -------------------------------------------------------


def test_changes_to_a_default_rule_are_stored_as_settings() -> None:
    custom = edits.set_enabled(UserPushRules(), "underride", ".m.rule.message", False)
    assert custom.defaults == {".m.rule.message": DefaultRuleSetting(enabled=False)}
    assert custom.rules == {}
    custom = edits.set_actions(
        custom, "underride", ".m.rule.message", ["notify", {"set_tweak": "highlight"}]
    )
    assert custom.defaults == {
        ".m.rule.message": DefaultRuleSetting(
            enabled=False, actions=["notify", {"set_tweak": "highlight"}]
        )
    }
    rule = edits.find_rule(ALICE, custom, "underride", ".m.rule.message")
    assert (rule.enabled, rule.default, rule.actions) == (
        False,
        True,
        ["notify", {"set_tweak": "highlight"}],
    )
    assert rule.conditions == [{"kind": "event_match", "key": "type", "pattern": "m.room.message"}]
    underride = [r.rule_id for r in ruleset(ALICE, custom)["underride"]]
    assert underride.index(".m.rule.message") == 3  # still where the spec puts it
    custom = edits.set_enabled(custom, "underride", ".m.rule.message", True)
    rule = edits.find_rule(ALICE, custom, "underride", ".m.rule.message")
    assert (rule.enabled, rule.actions) == (True, ["notify", {"set_tweak": "highlight"}])


def test_setting_a_default_rule_leaves_the_others_alone() -> None:
    custom = edits.set_actions(UserPushRules(), "override", ".m.rule.is_user_mention", [])
    default = ruleset(ALICE, UserPushRules())
    changed = ruleset(ALICE, custom)
    for kind, rules in changed.items():
        for old, new in zip(default[kind], rules, strict=True):
            if new.rule_id != ".m.rule.is_user_mention":
                assert new == old
    mention = edits.find_rule(ALICE, custom, "override", ".m.rule.is_user_mention")
    assert mention.actions == []
    assert mention.enabled


def test_user_rules_can_be_enabled_and_given_actions() -> None:
    custom = put(put(UserPushRules(), "a"), "b")
    custom = edits.set_enabled(custom, "override", "a", False)
    custom = edits.set_actions(custom, "override", "a", ["notify"])
    assert custom.rules["override"][1] == PushRule("a", ["notify"], enabled=False, conditions=[])
    assert custom.rules["override"][0] == PushRule("b", [], enabled=True, conditions=[])
    assert custom.defaults == {}


def test_changing_an_unknown_rule_is_not_found() -> None:
    custom = put(UserPushRules(), "a")
    refused(lambda: edits.set_enabled(custom, "override", "zzz", True), 404, Errcode.NOT_FOUND)
    refused(lambda: edits.set_actions(custom, "content", "a", []), 404, Errcode.NOT_FOUND)
    # a default rule under the wrong kind does not exist either
    refused(lambda: edits.set_enabled(custom, "underride", MASTER, True), 404, Errcode.NOT_FOUND)
    refused(
        lambda: edits.set_actions(custom, "override", ".m.rule.message", []), 404, Errcode.NOT_FOUND
    )


def test_find_rule() -> None:
    custom = edits.put_rule(UserPushRules(), "sender", BOB, NOTIFY)
    assert edits.find_rule(ALICE, custom, "sender", BOB) == PushRule(BOB, ["notify"])
    invite = edits.find_rule(ALICE, custom, "override", ".m.rule.invite_for_me")
    assert invite.conditions is not None
    assert invite.conditions[2]["pattern"] == ALICE
    refused(lambda: edits.find_rule(ALICE, custom, "room", BOB), 404, Errcode.NOT_FOUND)
    refused(
        lambda: edits.find_rule(ALICE, custom, "sender", "@nobody:example.org"),
        404,
        Errcode.NOT_FOUND,
    )
    refused(
        lambda: edits.find_rule(ALICE, custom, "underride", ".m.rule.master"),
        404,
        Errcode.NOT_FOUND,
    )


# --- room, sender and content rules match through effective_conditions ---------------------------


def first(custom: UserPushRules, event: dict[str, Any]) -> str | None:
    compiled = compile_ruleset(ruleset(ALICE, custom))
    rule = first_match(compiled, PushEvent(event), RoomFacts(3, event["sender"]))
    return rule.rule_id if rule else None


def message(room_id: str = ROOM, sender: str = BOB, body: str = "hi") -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "room_id": room_id,
        "sender": sender,
        "content": {"body": body},
    }


def test_room_rule_matches_its_room() -> None:
    custom = edits.put_rule(UserPushRules(), "room", ROOM, {"actions": []})
    rule = custom.rules["room"][0]
    assert effective_conditions("room", rule) == [
        {"kind": "event_match", "key": "room_id", "pattern": ROOM}
    ]
    assert first(custom, message(ROOM)) == ROOM
    assert first(custom, message(OTHER_ROOM)) == ".m.rule.message"


def test_sender_rule_matches_its_sender() -> None:
    custom = edits.put_rule(UserPushRules(), "sender", BOB, NOTIFY)
    assert effective_conditions("sender", custom.rules["sender"][0]) == [
        {"kind": "event_match", "key": "sender", "pattern": BOB}
    ]
    assert first(custom, message(sender=BOB)) == BOB
    assert first(custom, message(sender="@carol:example.org")) == ".m.rule.message"
    custom = edits.set_enabled(custom, "sender", BOB, False)
    assert first(custom, message(sender=BOB)) == ".m.rule.message"


def test_content_rule_matches_words_of_the_body() -> None:
    custom = edits.put_rule(
        UserPushRules(), "content", "tea", {"actions": ["notify"], "pattern": "tea*"}
    )
    assert effective_conditions("content", custom.rules["content"][0]) == [
        {"kind": "event_match", "key": "content.body", "pattern": "tea*"}
    ]
    assert first(custom, message(body="Teatime, anyone?")) == "tea"
    assert first(custom, message(body="green tea")) == "tea"
    assert first(custom, message(body="steam")) == ".m.rule.message"


def test_override_conditions_are_the_rules_own() -> None:
    conditions = [{"kind": "room_member_count", "is": ">2"}]
    rule = PushRule("r", [], conditions=conditions)
    assert effective_conditions("override", rule) == conditions
    assert effective_conditions("underride", PushRule("r", [])) == []
