"""Push rule `event_match` and property paths (spec: client-server-api#conditions-1,
appendices#glob-style-matching, appendices#dot-separated-property-paths)."""

from __future__ import annotations

from typing import Any

import pytest

from bastion.events.push_rules.conditions import PushEvent, split_path
from tests.unit.events.push_helpers import MISSING, holds, match, with_content

MARHABA = "\u0645\u0631\u062d\u0628\u0627"  # Arabic "hello"


# --- dot-separated property paths ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("content.body", ["content", "body"]),
        ("type", ["type"]),
        (r"content.m\.relates_to.rel_type", ["content", "m.relates_to", "rel_type"]),
        (r"content.m\\foo", ["content", "m\\foo"]),  # the appendix's own example
        (r"a\\b", ["a\\b"]),
        (r"a\\.b", ["a\\", "b"]),  # an escaped backslash, then a separator
        (r"a\\\.b", ["a\\.b"]),
        (r"a\x", ["a\\x"]),  # other escapes are left as-is
        ("a\\", ["a\\"]),
        ("a..b", ["a", "", "b"]),
    ],
)
def test_split_path(path: str, parts: list[str]) -> None:
    assert split_path(path) == parts


def test_escaped_dot_path_reaches_a_dotted_key() -> None:
    event = with_content({"m.relates_to": {"rel_type": "m.thread"}, "m": {"relates_to": "x"}})
    assert PushEvent(event).get(r"content.m\.relates_to.rel_type") == "m.thread"
    assert holds(match(r"content.m\.relates_to.rel_type", "m.thread"), event)
    assert not holds(match("content.m.relates_to.rel_type", "m.thread"), event)
    assert holds(match("content.m.relates_to", "x"), event)


def test_path_through_a_non_object_is_absent() -> None:
    event = with_content({"body": "hi", "list": [{"a": "x"}]})
    assert not holds(match("content.body.length", "*"), event)
    assert not holds(match("content.list.0.a", "*"), event)


# --- event_match: whole value --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("Lunch plans", True),
        ("LUNCH", True),  # case-insensitive; `*` may match zero characters
        ("lunch\nplans", True),  # `*` also crosses newlines
        (" lunch", False),  # leading space: the whole value must match
        ("lunc", False),  # `?` must match a character
        ("my lunch plans", False),
        (None, False),
        (5, False),
        (["Lunch"], False),
        ({"text": "Lunch"}, False),
        (MISSING, False),
    ],
)
def test_event_match_spec_example(topic: object, expected: bool) -> None:
    content: dict[str, Any] = {} if topic is MISSING else {"topic": topic}
    event = with_content(content, "m.room.topic")
    assert holds(match("content.topic", "lunc?*"), event) is expected


def test_star_needs_a_string_value() -> None:
    assert holds(match("content.topic", "*"), with_content({"topic": ""}))
    assert not holds(match("content.topic", "*"), with_content({}))
    assert not holds(match("content.topic", "*"), with_content({"topic": None}))
    assert not holds(match("content.topic", "*"), with_content({"topic": True}))


def test_event_match_is_not_a_substring_match_outside_the_body() -> None:
    event = with_content({}, "m.room.message")
    assert holds(match("type", "m.room.message"), event)
    assert holds(match("type", "M.ROOM.MESSAGE"), event)
    assert holds(match("type", "m.room.*"), event)
    assert not holds(match("type", "m.room"), event)
    assert not holds(match("type", "room.message"), event)


def test_trailing_newline_does_not_satisfy_a_whole_value_match() -> None:
    # A regex `$` would accept "m.notice\n"; the spec asks for the entire value.
    assert not holds(match("content.msgtype", "m.notice"), with_content({"msgtype": "m.notice\n"}))
    tombstone_ish = {"type": "m.room.tombstone", "state_key": "\n", "content": {}}
    assert not holds(match("state_key", ""), tombstone_ish)
    assert holds(match("state_key", ""), {**tombstone_ish, "state_key": ""})


def test_question_mark_is_exactly_one_character_of_any_kind() -> None:
    assert holds(match("content.topic", "a?c"), with_content({"topic": "a\nc"}))
    assert holds(match("content.topic", "a?c"), with_content({"topic": "aźc"}))
    assert not holds(match("content.topic", "a?c"), with_content({"topic": "ac"}))
    assert not holds(match("content.topic", "a?c"), with_content({"topic": "abbc"}))


@pytest.mark.parametrize(
    ("pattern", "literal", "regex_meaning"),
    [
        ("a.c", "a.c", "abc"),
        ("(x)+", "(x)+", "xx"),
        ("[ab]", "[ab]", "a"),
        ("a|b", "a|b", "a"),
        ("^x$", "^x$", "x"),
        ("a\\d", "a\\d", "a1"),
        ("a{2}", "a{2}", "aa"),
    ],
)
def test_regex_metacharacters_are_literal(pattern: str, literal: str, regex_meaning: str) -> None:
    for key in ("content.topic", "content.body"):
        field = key.split(".")[1]
        assert holds(match(key, pattern), with_content({field: literal}))
        assert not holds(match(key, pattern), with_content({field: regex_meaning}))


# --- event_match: content.body words -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("An example event.", True),
        ("exple", True),  # at the start and end of the body
        ("An exciting triple-whammy", True),  # spans words; `-` separates words
        ("AN EXAMPLE", True),
        ("examples", False),
        ("complex people", False),
        ("text_example", False),  # `_` is a word character, so "example" is not a word here
    ],
)
def test_body_word_match_spec_example(body: str, expected: bool) -> None:
    assert holds(match("content.body", "ex*ple"), with_content({"body": body})) is expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Lunch?", True),
        ("lunch-time", True),
        ("(lunch)", True),
        ("brunch", False),
        ("lunchbox", False),
        ("lunch_time", False),
        ("lunch2", False),
        ("2lunch", False),
        (f"{MARHABA} lunch {MARHABA}", True),
        ("Zażółć lunch gęślą", True),
        # The spec's word characters are only [A-Za-z0-9_]: other letters are boundaries.
        (f"{MARHABA}lunch{MARHABA}", True),
        ("zażółćlunch", True),
        ("\u017flunch", True),  # LONG S folds to "s", still not [A-Za-z]
        ("\u212alunch", True),  # KELVIN SIGN folds to "k", still not [A-Za-z]
    ],
)
def test_body_word_boundaries(body: str, expected: bool) -> None:
    assert holds(match("content.body", "lunch"), with_content({"body": body})) is expected


def test_non_ascii_patterns_match_case_insensitively_as_words() -> None:
    body = with_content({"body": f"Zażółć gęślą jaźń, {MARHABA} \u0628\u0643\u0645"})
    assert holds(match("content.body", "GĘŚLĄ"), body)
    assert holds(match("content.body", "gęślą"), body)
    assert holds(match("content.body", MARHABA), body)
    assert holds(match("content.body", "ZAŻÓŁĆ*JAŹŃ"), body)
    assert not holds(match("content.body", "gęśl"), with_content({"body": "xgęślą"}))


def test_body_must_be_a_string() -> None:
    assert not holds(match("content.body", "*"), with_content({"body": 5}))
    assert not holds(match("content.body", "*"), with_content({}))


@pytest.mark.parametrize(
    "condition",
    [
        {"kind": "event_match", "key": "type"},
        {"kind": "event_match", "pattern": "*"},
        {"kind": "event_match", "key": "type", "pattern": 5},
        {"kind": "event_match", "key": ["type"], "pattern": "*"},
    ],
)
def test_malformed_event_match_never_matches(condition: dict[str, Any]) -> None:
    assert not holds(condition, with_content({"body": "x"}))
