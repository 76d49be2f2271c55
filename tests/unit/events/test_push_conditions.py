"""Push rule conditions other than `event_match` (spec: client-server-api#conditions-1):
exact property values, array membership, member counts, the sender's notification power, the
deprecated display-name condition, and unknown conditions."""

from __future__ import annotations

from typing import Any

import pytest

from bastion.events.power_levels import PowerLevels
from bastion.events.push_rules.conditions import compile_condition
from tests.unit.events.push_helpers import (
    ALICE,
    BOB,
    CAROL,
    MISSING,
    holds,
    match,
    with_content,
)

# --- event_property_is ---------------------------------------------------------------------------


def prop_is(key: str, value: object) -> dict[str, Any]:
    return {"kind": "event_property_is", "key": key, "value": value}


@pytest.mark.parametrize(
    ("federate", "expected"),
    [(True, True), ("true", False), (1, False), (False, False), (None, False), (MISSING, False)],
)
def test_property_is_spec_example(federate: object, expected: bool) -> None:
    content = {} if federate is MISSING else {"m.federate": federate}
    event = with_content(content, "m.room.create")
    assert holds(prop_is(r"content.m\.federate", True), event) is expected


@pytest.mark.parametrize(
    ("expected", "value", "result"),
    [
        (1, 1, True),
        (1, True, False),
        (1, 1.0, False),
        (1, "1", False),
        (0, False, False),
        (False, 0, False),
        ("m.replace", "m.replace", True),
        ("m.replace", "M.REPLACE", False),  # exact, not case-insensitive
        ("m.replace", "m.repl*", False),
        (None, None, True),
        (None, False, False),
        (None, "", False),
        (None, 0, False),
        (None, MISSING, False),  # an absent key is not null
        (2**53 - 1, 2**53 - 1, True),
        (-(2**53) + 1, -(2**53) + 1, True),
        ({"a": 1}, {"a": 1}, False),  # compound values are never compared
        (["a"], ["a"], False),
        (2**53, 2**53, False),  # outside the canonical JSON range
    ],
)
def test_property_is_exact(expected: object, value: object, result: bool) -> None:
    content = {} if value is MISSING else {"x": value}
    assert holds(prop_is("content.x", expected), with_content(content)) is result


def test_property_is_without_a_value_never_matches() -> None:
    condition = {"kind": "event_property_is", "key": "content.x"}
    assert not holds(condition, with_content({"x": None}))
    assert not holds({"kind": "event_property_is", "value": None}, with_content({"x": None}))


# --- event_property_contains ---------------------------------------------------------------------


def contains(key: str, value: object) -> dict[str, Any]:
    return {"kind": "event_property_contains", "key": key, "value": value}


@pytest.mark.parametrize(
    ("aliases", "value", "expected"),
    [
        (["#somewhere:example.org", "#myroom:example.com"], "#myroom:example.com", True),
        (["#somewhere:example.org", "#myroom:example.com"], ":example.com", False),
        (["#MYROOM:example.com"], "#myroom:example.com", False),
        ("#myroom:example.com", "#myroom:example.com", False),  # not an array
        ("#", "#", False),  # a string is not an array of its characters
        ({"a": "#myroom:example.com"}, "#myroom:example.com", False),
        (MISSING, "#myroom:example.com", False),
        ([], "#myroom:example.com", False),
        ([["#myroom:example.com"]], "#myroom:example.com", False),  # compound items ignored
        ([{"a": 1}, ["x"], "#myroom:example.com"], "#myroom:example.com", True),
        ([1], True, False),
        ([True], 1, False),
        ([True], True, True),
        ([0, None], None, True),
        ([None], False, False),
        ([2**53], 2**53, False),
    ],
)
def test_property_contains(aliases: object, value: object, expected: bool) -> None:
    content = {} if aliases is MISSING else {"alt_aliases": aliases}
    event = with_content(content, "m.room.canonical_alias")
    assert holds(contains("content.alt_aliases", value), event) is expected


def test_property_contains_with_a_compound_value_never_matches() -> None:
    event = with_content({"list": [["a"], {"b": 1}]})
    assert not holds(contains("content.list", ["a"]), event)
    assert not holds(contains("content.list", {"b": 1}), event)


# --- room_member_count ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("is_", "count", "expected"),
    [
        ("2", 2, True),
        ("2", 3, False),
        ("2", 1, False),
        ("==2", 2, True),
        ("==2", 20, False),
        ("<2", 1, True),
        ("<2", 2, False),
        (">2", 3, True),
        (">2", 2, False),
        ("<=2", 2, True),
        ("<=2", 1, True),
        ("<=2", 3, False),
        (">=2", 2, True),
        (">=2", 100, True),
        (">=2", 1, False),
        ("10", 10, True),
        ("010", 10, True),
    ],
)
def test_member_count(is_: str, count: int, expected: bool) -> None:
    condition = {"kind": "room_member_count", "is": is_}
    assert holds(condition, with_content({}), members=count) is expected


@pytest.mark.parametrize(
    "is_", ["", "two", "=2", "!=2", " 2", "2 ", "2\n", "2.0", "-1", ">>2", "=<2", "<", 2, None]
)
def test_malformed_member_count_never_matches(is_: object) -> None:
    condition = {"kind": "room_member_count", "is": is_}
    assert not any(holds(condition, with_content({}), members=n) for n in range(0, 6))


def test_member_count_without_is_never_matches() -> None:
    assert not holds({"kind": "room_member_count"}, with_content({}), members=2)


# --- sender_notification_permission --------------------------------------------------------------

PERMISSION = {"kind": "sender_notification_permission", "key": "room"}


def levels(content: dict[str, Any] | None, creators: set[str], version: str = "11") -> PowerLevels:
    return PowerLevels.from_state(content, frozenset(creators), version)


def test_permission_needs_power_levels() -> None:
    assert not holds(PERMISSION, with_content({}), power=None)
    assert compile_condition(PERMISSION).needs_power_levels
    assert not compile_condition(match("type", "x")).needs_power_levels


def test_permission_default_room_level_is_50() -> None:
    power = levels({"users": {BOB: 50, CAROL: 49}}, {ALICE})
    assert holds(PERMISSION, with_content({}), sender=BOB, power=power)
    assert not holds(PERMISSION, with_content({}), sender=CAROL, power=power)
    assert not holds(PERMISSION, with_content({}), sender="@dave:example.org", power=power)


def test_permission_uses_notifications_room() -> None:
    power = levels({"users": {BOB: 20}, "notifications": {"room": 20}}, {ALICE})
    assert holds(PERMISSION, with_content({}), sender=BOB, power=power)
    assert not holds(PERMISSION, with_content({}), sender=CAROL, power=power)
    everyone = levels({"notifications": {"room": 0}}, {ALICE})
    assert holds(PERMISSION, with_content({}), sender=CAROL, power=everyone)


def test_permission_for_another_key_defaults_to_50() -> None:
    condition = {"kind": "sender_notification_permission", "key": "other"}
    power = levels({"users": {BOB: 50, CAROL: 49}, "notifications": {"room": 0}}, {ALICE})
    assert holds(condition, with_content({}), sender=BOB, power=power)
    assert not holds(condition, with_content({}), sender=CAROL, power=power)


def test_permission_v12_creators_have_infinite_power() -> None:
    power = levels({"users": {CAROL: 100}, "notifications": {"room": 100}}, {BOB}, "12")
    assert holds(PERMISSION, with_content({}), sender=BOB, power=power)
    assert holds(PERMISSION, with_content({}), sender=CAROL, power=power)
    no_event = levels(None, {BOB}, "12")
    assert holds(PERMISSION, with_content({}), sender=BOB, power=no_event)
    assert not holds(PERMISSION, with_content({}), sender=CAROL, power=no_event)


def test_permission_v11_creator_without_power_levels_has_100() -> None:
    power = levels(None, {BOB}, "11")
    assert holds(PERMISSION, with_content({}), sender=BOB, power=power)
    assert not holds(PERMISSION, with_content({}), sender=CAROL, power=power)


def test_permission_without_key_never_matches() -> None:
    power = levels({"notifications": {"room": 0}}, {BOB}, "12")
    condition = {"kind": "sender_notification_permission"}
    assert not holds(condition, with_content({}), sender=BOB, power=power)


# --- contains_display_name -----------------------------------------------------------------------

DISPLAY_NAME = {"kind": "contains_display_name"}


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        ("Alice", "hi alice!", True),
        ("Alice", "ALICE", True),
        ("Alice", "Alicea", False),
        ("Alice", "malice", False),
        ("Alice", "alice_", False),
        ("B*b", "hey b*b!", True),
        ("B*b", "Bob", False),  # `*` in a name is literal
        ("Dr. Who?", "dr. who? there", True),
        ("Dr. Who?", "Dr. Whom", False),
        ("Dr. Who?", "Dr! Who!", False),
        ("a.b", "axb", False),
        (None, "hi alice", False),
        ("", "hi", False),
    ],
)
def test_contains_display_name(name: str | None, body: str, expected: bool) -> None:
    event = with_content({"body": body})
    assert holds(DISPLAY_NAME, event, name=name) is expected


def test_contains_display_name_depends_on_the_owner() -> None:
    compiled = compile_condition(DISPLAY_NAME)
    assert compiled.memo_key is None
    assert compiled.needs_display_name
    assert not holds(DISPLAY_NAME, with_content({"body": 5}), name="5")
    assert not holds(DISPLAY_NAME, with_content({}), name="Alice")


def test_owner_independent_conditions_have_memo_keys() -> None:
    for condition in (match("type", "x"), prop_is("content.x", 1), PERMISSION):
        assert compile_condition(condition).memo_key is not None
    # Distinct values give distinct keys, even where Python says True == 1.
    assert (
        compile_condition(prop_is("content.x", True)).memo_key
        != compile_condition(prop_is("content.x", 1)).memo_key
    )
    assert (
        compile_condition(contains("content.x", True)).memo_key
        != compile_condition(contains("content.x", 1)).memo_key
    )


# --- unknown conditions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "condition",
    [
        {"kind": "org.example.always"},
        {"kind": "Event_Match", "key": "type", "pattern": "*"},
        {"kind": 5},
        {"key": "type", "pattern": "*"},
        "event_match",
        None,
        ["event_match"],
    ],
)
def test_unknown_conditions_never_match(condition: object) -> None:
    event = with_content({"body": "hi"})
    assert not any(
        holds(condition, event, members=n, name="hi", power=levels(None, {BOB}, "12"))
        for n in (1, 2, 3)
    )
