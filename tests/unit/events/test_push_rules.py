"""The default push rules (spec v1.17: client-server-api#predefined-rules) and merging a user's
changes into them (see test_push_evaluate.py for what they do to events)."""

from __future__ import annotations

from typing import Any

import msgspec

from bastion.events.push_rules import edits
from bastion.events.push_rules.rules import (
    DEFAULT_RULES,
    KINDS,
    MASTER,
    USER_ID,
    PushRule,
    UserPushRules,
    ruleset,
    ruleset_json,
)
from tests.unit.events.push_helpers import ALICE, BOB, HIGHLIGHT, ROOM, SOUND, match

# Spec v1.17 definitions, in order, with "[the user's Matrix ID]" as ALICE.
SPEC_OVERRIDE: list[tuple[str, bool, list[Any], list[Any]]] = [
    (MASTER, False, [], []),
    (".m.rule.suppress_notices", True, [match("content.msgtype", "m.notice")], []),
    (
        ".m.rule.invite_for_me",
        True,
        [
            match("type", "m.room.member"),
            match("content.membership", "invite"),
            match("state_key", ALICE),
        ],
        ["notify", SOUND],
    ),
    (".m.rule.member_event", True, [match("type", "m.room.member")], []),
    (
        ".m.rule.is_user_mention",
        True,
        [
            {
                "kind": "event_property_contains",
                "key": "content.m\\.mentions.user_ids",
                "value": ALICE,
            }
        ],
        ["notify", SOUND, HIGHLIGHT],
    ),
    (
        ".m.rule.is_room_mention",
        True,
        [
            {"kind": "event_property_is", "key": "content.m\\.mentions.room", "value": True},
            {"kind": "sender_notification_permission", "key": "room"},
        ],
        ["notify", HIGHLIGHT],
    ),
    (
        ".m.rule.tombstone",
        True,
        [match("type", "m.room.tombstone"), match("state_key", "")],
        ["notify", HIGHLIGHT],
    ),
    (".m.rule.reaction", True, [match("type", "m.reaction")], []),
    (
        ".m.rule.room.server_acl",
        True,
        [match("type", "m.room.server_acl"), match("state_key", "")],
        [],
    ),
    (
        ".m.rule.suppress_edits",
        True,
        [
            {
                "kind": "event_property_is",
                "key": "content.m\\.relates_to.rel_type",
                "value": "m.replace",
            }
        ],
        [],
    ),
]
SPEC_UNDERRIDE: list[tuple[str, bool, list[Any], list[Any]]] = [
    (
        ".m.rule.call",
        True,
        [match("type", "m.call.invite")],
        ["notify", {"set_tweak": "sound", "value": "ring"}],
    ),
    (
        ".m.rule.encrypted_room_one_to_one",
        True,
        [{"kind": "room_member_count", "is": "2"}, match("type", "m.room.encrypted")],
        ["notify", SOUND],
    ),
    (
        ".m.rule.room_one_to_one",
        True,
        [{"kind": "room_member_count", "is": "2"}, match("type", "m.room.message")],
        ["notify", SOUND],
    ),
    (".m.rule.message", True, [match("type", "m.room.message")], ["notify"]),
    (".m.rule.encrypted", True, [match("type", "m.room.encrypted")], ["notify"]),
]


def spec_json(rules: list[tuple[str, bool, list[Any], list[Any]]]) -> list[dict[str, Any]]:
    return [
        {"rule_id": i, "default": True, "enabled": e, "conditions": c, "actions": a}
        for i, e, c, a in rules
    ]


def ids(rules: dict[str, list[PushRule]], kind: str) -> list[str]:
    return [r.rule_id for r in rules[kind]]


# --- the default ruleset -------------------------------------------------------------------------


def test_default_ruleset_is_the_spec_v1_17_ruleset() -> None:
    body = ruleset_json(ruleset(ALICE, UserPushRules()))
    assert list(body) == ["override", "content", "room", "sender", "underride"]
    assert body["override"] == spec_json(SPEC_OVERRIDE)
    assert body["underride"] == spec_json(SPEC_UNDERRIDE)
    assert body["content"] == body["room"] == body["sender"] == []


def test_owner_placeholder_is_replaced_per_user() -> None:
    for user in (ALICE, BOB):
        rules = ruleset(user, UserPushRules())
        by_id = {r.rule_id: r for r in rules["override"]}
        invite = by_id[".m.rule.invite_for_me"].conditions
        mention = by_id[".m.rule.is_user_mention"].conditions
        assert invite is not None
        assert invite[2] == match("state_key", user)
        assert mention is not None
        assert mention[0]["value"] == user
        assert "\\u0000" not in msgspec.json.encode(ruleset_json(rules)).decode()
    # The shared defaults keep their placeholder: one user's ruleset does not leak into another's.
    default_mention = next(r for r in DEFAULT_RULES["override"] if "mention" in r.rule_id)
    assert default_mention.conditions == [
        {
            "kind": "event_property_contains",
            "key": "content.m\\.mentions.user_ids",
            "value": USER_ID,
        }
    ]


def test_user_rules_go_between_master_and_defaults_of_their_kind() -> None:
    custom = UserPushRules()
    changes: list[tuple[str, str, dict[str, Any]]] = [
        ("override", "o1", {"actions": [], "conditions": []}),
        ("override", "o2", {"actions": []}),
        ("content", "c1", {"actions": ["notify"], "pattern": "tea"}),
        ("room", ROOM, {"actions": []}),
        ("sender", BOB, {"actions": []}),
        ("underride", "u1", {"actions": ["notify"], "conditions": []}),
    ]
    for kind, rule_id, body in changes:
        custom = edits.put_rule(custom, kind, rule_id, body)
    rules = ruleset(ALICE, custom)
    override_defaults = [r[0] for r in SPEC_OVERRIDE]
    assert ids(rules, "override") == [MASTER, "o2", "o1", *override_defaults[1:]]
    assert ids(rules, "content") == ["c1"]
    assert ids(rules, "room") == [ROOM]
    assert ids(rules, "sender") == [BOB]
    assert ids(rules, "underride") == ["u1", *[r[0] for r in SPEC_UNDERRIDE]]
    assert not any(r.default for kind in ("content", "room", "sender") for r in rules[kind])
    assert [r.default for r in rules["override"][:3]] == [True, False, False]


def test_stored_document_round_trips_as_json() -> None:
    custom = edits.put_rule(UserPushRules(), "content", "tea", {"actions": [], "pattern": "tea"})
    custom = edits.set_enabled(custom, "underride", ".m.rule.message", False)
    decoded = msgspec.json.decode(msgspec.json.encode(custom), type=UserPushRules)
    assert decoded == custom
    assert ruleset(ALICE, decoded) == ruleset(ALICE, custom)


def test_all_kinds_are_known() -> None:
    assert KINDS == ("override", "content", "room", "sender", "underride")
    assert set(DEFAULT_RULES) == set(KINDS)
