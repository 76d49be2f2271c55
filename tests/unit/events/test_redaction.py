"""The redaction algorithm of room versions 10, 11 and 12 (spec: rooms/v11#redactions,
rooms/fragments/v9-redactions for v10)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bastion.events.redaction import redact

VERSIONS = ("7", "8", "9", "10", "11", "12")
BEFORE_V11 = ("7", "8", "9", "10")  # the v6 algorithm, with what v8 and v9 added
RESTRICTED = ("8", "9", "10", "11", "12")  # versions with restricted join rules

COMMON_TOP = {
    "event_id", "type", "room_id", "sender", "state_key", "content", "hashes",
    "signatures", "depth", "prev_events", "auth_events", "origin_server_ts",
}  # fmt: skip
V10_ONLY_TOP = {"origin", "membership", "prev_state"}
DROPPED_TOP = {"unsigned", "redacts", "age_ts", "org.example.custom", "prev_content"}


def pdu(event_type: str, content: dict[str, Any], state_key: str | None = "") -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": "$event",
        "type": event_type,
        "room_id": "!room:example.org",
        "sender": "@alice:example.org",
        "content": content,
        "hashes": {"sha256": "abc"},
        "signatures": {"example.org": {"ed25519:a": "sig"}},
        "depth": 7,
        "prev_events": ["$prev"],
        "auth_events": ["$auth"],
        "origin_server_ts": 1_000,
        "origin": "example.org",
        "membership": "join",
        "prev_state": [],
        "unsigned": {"age": 5},
        "redacts": "$target",
        "age_ts": 1_000,
        "org.example.custom": True,
        "prev_content": {"x": 1},
    }
    if state_key is not None:
        event["state_key"] = state_key
    return event


@pytest.mark.parametrize("version", VERSIONS)
def test_top_level_keys(version: str) -> None:
    redacted = redact(pdu("m.room.message", {"body": "x"}, state_key=None), version)
    kept = COMMON_TOP - {"state_key"}
    if version in BEFORE_V11:
        kept |= V10_ONLY_TOP
    assert set(redacted) == kept


@pytest.mark.parametrize("version", ["11", "12"])
def test_v11_drops_origin_membership_and_prev_state(version: str) -> None:
    redacted = redact(pdu("m.room.topic", {"topic": "x"}), version)
    assert not V10_ONLY_TOP & set(redacted)
    assert not DROPPED_TOP & set(redacted)


@pytest.mark.parametrize("version", VERSIONS)
def test_preserved_top_level_values_are_unchanged(version: str) -> None:
    event = pdu("m.room.topic", {"topic": "x"})
    redacted = redact(event, version)
    for key in COMMON_TOP - {"content"}:
        assert redacted[key] == event[key]


@pytest.mark.parametrize("version", VERSIONS)
def test_message_loses_all_content(version: str) -> None:
    content = {"msgtype": "m.text", "body": "secret", "url": "mxc://x/y", "membership": "join"}
    assert redact(pdu("m.room.message", content, None), version)["content"] == {}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("event_type", ["m.room.name", "m.room.topic", "m.room.encryption"])
def test_other_state_events_lose_all_content(version: str, event_type: str) -> None:
    content = {"name": "n", "topic": "t", "algorithm": "m.megolm.v1.aes-sha2"}
    assert redact(pdu(event_type, content), version)["content"] == {}


@pytest.mark.parametrize("version", RESTRICTED[1:])
def test_member_keeps_membership_and_join_authorised(version: str) -> None:
    content = {
        "membership": "join",
        "join_authorised_via_users_server": "@bob:example.org",
        "displayname": "Alice",
        "avatar_url": "mxc://x/y",
        "reason": "hello",
        "is_direct": True,
    }
    redacted = redact(pdu("m.room.member", content, "@alice:example.org"), version)
    assert redacted["content"] == {
        "membership": "join",
        "join_authorised_via_users_server": "@bob:example.org",
    }


@pytest.mark.parametrize("version", ["7", "8"])
def test_before_v9_member_keeps_only_membership(version: str) -> None:
    """v9 added `join_authorised_via_users_server` to what a member event keeps."""
    content = {"membership": "join", "join_authorised_via_users_server": "@bob:example.org"}
    redacted = redact(pdu("m.room.member", content, "@alice:example.org"), version)
    assert redacted["content"] == {"membership": "join"}


THIRD_PARTY = {
    "display_name": "alice...@example.org",
    "signed": {"mxid": "@alice:example.org", "token": "abc", "signatures": {"s": {"k": "v"}}},
}


@pytest.mark.parametrize("version", ["11", "12"])
def test_v11_member_keeps_only_third_party_invite_signed(version: str) -> None:
    content = {"membership": "invite", "third_party_invite": copy.deepcopy(THIRD_PARTY)}
    redacted = redact(pdu("m.room.member", content, "@alice:example.org"), version)
    assert redacted["content"] == {
        "membership": "invite",
        "third_party_invite": {"signed": THIRD_PARTY["signed"]},
    }


@pytest.mark.parametrize("version", ["11", "12"])
def test_v11_member_third_party_invite_without_signed_is_dropped(version: str) -> None:
    content = {"membership": "invite", "third_party_invite": {"display_name": "x"}}
    redacted = redact(pdu("m.room.member", content, "@alice:example.org"), version)
    assert redacted["content"] == {"membership": "invite"}


@pytest.mark.parametrize("version", BEFORE_V11)
def test_v10_member_drops_third_party_invite(version: str) -> None:
    content = {"membership": "invite", "third_party_invite": copy.deepcopy(THIRD_PARTY)}
    redacted = redact(pdu("m.room.member", content, "@alice:example.org"), version)
    assert redacted["content"] == {"membership": "invite"}


CREATE_CONTENT = {
    "creator": "@alice:example.org",
    "room_version": "10",
    "m.federate": False,
    "predecessor": {"room_id": "!old:example.org", "event_id": "$old"},
    "type": "m.space",
}


@pytest.mark.parametrize("version", BEFORE_V11)
def test_v10_create_keeps_only_creator(version: str) -> None:
    redacted = redact(pdu("m.room.create", dict(CREATE_CONTENT)), version)
    assert redacted["content"] == {"creator": "@alice:example.org"}


@pytest.mark.parametrize("version", ["11", "12"])
def test_v11_create_keeps_all_content(version: str) -> None:
    content = {**CREATE_CONTENT, "additional_creators": ["@bob:example.org"]}
    redacted = redact(pdu("m.room.create", copy.deepcopy(content)), version)
    assert redacted["content"] == content


@pytest.mark.parametrize("version", RESTRICTED)
def test_join_rules_keeps_join_rule_and_allow(version: str) -> None:
    allow = [{"type": "m.room_membership", "room_id": "!space:example.org"}]
    content = {"join_rule": "restricted", "allow": allow, "other": 1}
    redacted = redact(pdu("m.room.join_rules", content), version)
    assert redacted["content"] == {"join_rule": "restricted", "allow": allow}


def test_v7_join_rules_keeps_only_join_rule() -> None:
    """v8 added `allow` to what join rules keep."""
    allow = [{"type": "m.room_membership", "room_id": "!space:example.org"}]
    redacted = redact(pdu("m.room.join_rules", {"join_rule": "knock", "allow": allow}), "7")
    assert redacted["content"] == {"join_rule": "knock"}


POWER_CONTENT = {
    "ban": 50,
    "events": {"m.room.name": 50},
    "events_default": 0,
    "invite": 10,
    "kick": 50,
    "redact": 50,
    "state_default": 50,
    "users": {"@alice:example.org": 100},
    "users_default": 0,
    "notifications": {"room": 50},
    "historical": 100,
}


@pytest.mark.parametrize("version", ["11", "12"])
def test_v11_power_levels_keeps_invite(version: str) -> None:
    redacted = redact(pdu("m.room.power_levels", dict(POWER_CONTENT)), version)
    expected = {k: v for k, v in POWER_CONTENT.items() if k not in ("notifications", "historical")}
    assert redacted["content"] == expected


@pytest.mark.parametrize("version", BEFORE_V11)
def test_v10_power_levels_drops_invite(version: str) -> None:
    redacted = redact(pdu("m.room.power_levels", dict(POWER_CONTENT)), version)
    dropped = ("notifications", "historical", "invite")
    assert redacted["content"] == {k: v for k, v in POWER_CONTENT.items() if k not in dropped}


@pytest.mark.parametrize("version", VERSIONS)
def test_history_visibility_keeps_history_visibility(version: str) -> None:
    content = {"history_visibility": "joined", "other": "x"}
    redacted = redact(pdu("m.room.history_visibility", content), version)
    assert redacted["content"] == {"history_visibility": "joined"}


@pytest.mark.parametrize("version", ["11", "12"])
def test_v11_redaction_keeps_redacts(version: str) -> None:
    content = {"redacts": "$target", "reason": "spam"}
    redacted = redact(pdu("m.room.redaction", content, None), version)
    assert redacted["content"] == {"redacts": "$target"}


def test_v10_redaction_loses_redacts_in_content_and_at_top_level() -> None:
    content = {"redacts": "$target", "reason": "spam"}
    redacted = redact(pdu("m.room.redaction", content, None), "10")
    assert redacted["content"] == {}
    assert "redacts" not in redacted


@pytest.mark.parametrize("version", VERSIONS)
def test_absent_kept_keys_are_not_invented(version: str) -> None:
    redacted = redact(pdu("m.room.power_levels", {"ban": 50}), version)
    assert redacted["content"] == {"ban": 50}


@pytest.mark.parametrize("version", VERSIONS)
def test_event_without_content_gets_empty_content(version: str) -> None:
    event = pdu("m.room.message", {}, None)
    del event["content"]
    assert redact(event, version)["content"] == {}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("event_type", "content"),
    [
        ("m.room.create", dict(CREATE_CONTENT)),
        ("m.room.member", {"membership": "invite", "third_party_invite": THIRD_PARTY}),
        ("m.room.power_levels", POWER_CONTENT),
        ("m.room.message", {"body": "x"}),
    ],
)
def test_input_is_not_mutated(version: str, event_type: str, content: dict[str, Any]) -> None:
    event = pdu(event_type, copy.deepcopy(content))
    before = copy.deepcopy(event)
    redacted = redact(event, version)
    assert event == before
    assert redacted is not event
    assert redacted["content"] is not event["content"]


@pytest.mark.parametrize("version", VERSIONS)
def test_redaction_is_idempotent(version: str) -> None:
    for event_type, content in [
        ("m.room.member", {"membership": "invite", "third_party_invite": THIRD_PARTY}),
        ("m.room.create", dict(CREATE_CONTENT)),
        ("m.room.power_levels", POWER_CONTENT),
    ]:
        once = redact(pdu(event_type, copy.deepcopy(content)), version)
        assert redact(once, version) == once
