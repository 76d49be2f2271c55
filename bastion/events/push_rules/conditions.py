"""Push rule conditions, compiled once per ruleset and tested against an event.

spec: client-server-api#conditions-1, appendices#glob-style-matching,
appendices#dot-separated-property-paths. Each compiled condition carries a memo key: a condition
that does not depend on whose rule it is (everything but `contains_display_name`) gives the same
answer for every member of the room, so evaluating one event for a thousand members tests each
distinct condition once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from bastion.events.power_levels import PowerLevels
from bastion.json_types import JsonObject

_ABSENT = object()
_MAX_SAFE_INT = 2**53 - 1
# ASCII only even under IGNORECASE, which would otherwise let [a-z] match U+017F (long s) and
# U+212A (Kelvin sign): the spec's word characters are exactly [A-Za-z0-9_].
_WORD_CHAR = "(?-i:[A-Za-z0-9_])"
_MEMBER_COUNT = re.compile(r"(==|<=|>=|<|>)?([0-9]{1,9})")


@dataclass(slots=True)
class PushEvent:
    """The event being evaluated, with its properties looked up by path at most once."""

    fields: JsonObject
    _paths: dict[str, object] = field(default_factory=dict)

    def get(self, path: str) -> object:
        """The value at a dot-separated path, or `_ABSENT`."""
        if path in self._paths:
            return self._paths[path]
        value: object = self.fields
        for part in split_path(path):
            if not isinstance(value, dict) or part not in value:
                value = _ABSENT
                break
            value = value[part]
        self._paths[path] = value
        return value


@dataclass(frozen=True, slots=True)
class RoomFacts:
    """What conditions need to know about the room: member count and power levels (only loaded
    when some rule asks for the sender's notification permission)."""

    member_count: int
    sender: str
    power_levels: PowerLevels | None = None


Test = Callable[[PushEvent, RoomFacts, "str | None"], bool]


@dataclass(frozen=True, slots=True)
class Condition:
    """A compiled condition; `memo_key` is None when the answer depends on the rule's owner."""

    memo_key: tuple[Any, ...] | None
    test: Test
    needs_power_levels: bool = False
    needs_display_name: bool = False


def split_path(path: str) -> list[str]:
    r"""`content.m\.relates_to.rel_type` -> ["content", "m.relates_to", "rel_type"].

    Only `\.` and `\\` are escapes; any other backslash is literal (`\x` stays `\x`)."""
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in path:
        if escaped:
            current.append(char if char in ".\\" else "\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if escaped:
        current.append("\\")
    parts.append("".join(current))
    return parts


@lru_cache(maxsize=4096)
def glob_regex(pattern: str, *, words: bool) -> re.Pattern[str]:
    """A glob (`*` any run, `?` one character) as a case-insensitive regex: anchored to the
    whole value, or (`words`) to a substring bounded by non-word characters."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    # \A...\Z, not ^...$: `$` also matches before a trailing newline.
    body = f"(?<!{_WORD_CHAR}){body}(?!{_WORD_CHAR})" if words else f"\\A{body}\\Z"
    return re.compile(body, re.IGNORECASE | re.DOTALL)


@lru_cache(maxsize=4096)
def _literal_word(text: str) -> re.Pattern[str]:
    """`text` itself (no glob characters), bounded by non-word characters."""
    return re.compile(
        f"(?<!{_WORD_CHAR}){re.escape(text)}(?!{_WORD_CHAR})", re.IGNORECASE | re.DOTALL
    )


def _is_scalar(value: object) -> bool:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    return isinstance(value, int) and abs(value) <= _MAX_SAFE_INT


def _same(a: object, b: object) -> bool:
    """Exact equality without Python's True == 1."""
    return type(a) is type(b) and a == b


def _never(_event: PushEvent, _room: RoomFacts, _name: str | None) -> bool:
    return False


def _event_match(condition: JsonObject) -> Condition:
    key, pattern = condition.get("key"), condition.get("pattern")
    if not isinstance(key, str) or not isinstance(pattern, str):
        return Condition(("never",), _never)
    regex = glob_regex(pattern, words=key == "content.body")
    find = regex.search if key == "content.body" else regex.match

    def test(event: PushEvent, _room: RoomFacts, _name: str | None) -> bool:
        value = event.get(key)
        return isinstance(value, str) and find(value) is not None

    return Condition(("event_match", key, pattern), test)


def _property_is(condition: JsonObject) -> Condition:
    key, expected = condition.get("key"), condition.get("value", _ABSENT)
    if not isinstance(key, str) or not _is_scalar(expected):
        return Condition(("never",), _never)

    def test(event: PushEvent, _room: RoomFacts, _name: str | None) -> bool:
        value = event.get(key)
        return _is_scalar(value) and _same(value, expected)

    return Condition(("is", key, type(expected).__name__, expected), test)


def _property_contains(condition: JsonObject) -> Condition:
    key, expected = condition.get("key"), condition.get("value", _ABSENT)
    if not isinstance(key, str) or not _is_scalar(expected):
        return Condition(("never",), _never)

    def test(event: PushEvent, _room: RoomFacts, _name: str | None) -> bool:
        value = event.get(key)
        return isinstance(value, list) and any(_is_scalar(v) and _same(v, expected) for v in value)

    return Condition(("contains", key, type(expected).__name__, expected), test)


def _member_count(condition: JsonObject) -> Condition:
    raw = condition.get("is")
    match = _MEMBER_COUNT.fullmatch(raw) if isinstance(raw, str) else None
    if match is None:
        return Condition(("never",), _never)
    op, number = match[1] or "==", int(match[2])
    compare: dict[str, Callable[[int], bool]] = {
        "==": lambda n: n == number,
        "<": lambda n: n < number,
        ">": lambda n: n > number,
        "<=": lambda n: n <= number,
        ">=": lambda n: n >= number,
    }
    check = compare[op]

    def test(_event: PushEvent, room: RoomFacts, _name: str | None) -> bool:
        return check(room.member_count)

    return Condition(("member_count", op, number), test)


def _sender_permission(condition: JsonObject) -> Condition:
    key = condition.get("key")
    if not isinstance(key, str):
        return Condition(("never",), _never)

    def test(_event: PushEvent, room: RoomFacts, _name: str | None) -> bool:
        levels = room.power_levels
        if levels is None:
            return False
        return levels.user_level(room.sender) >= levels.notification_level(key)

    return Condition(("sender_permission", key), test, needs_power_levels=True)


def _display_name(_condition: JsonObject) -> Condition:
    def test(event: PushEvent, _room: RoomFacts, name: str | None) -> bool:
        body = event.get("content.body")
        if not name or not isinstance(body, str):
            return False
        return _literal_word(name).search(body) is not None

    return Condition(None, test, needs_display_name=True)


_COMPILERS: dict[str, Callable[[JsonObject], Condition]] = {
    "event_match": _event_match,
    "event_property_is": _property_is,
    "event_property_contains": _property_contains,
    "room_member_count": _member_count,
    "sender_notification_permission": _sender_permission,
    "contains_display_name": _display_name,
}


def compile_condition(condition: object) -> Condition:
    """A condition ready to test; unknown or malformed conditions never match (spec)."""
    if not isinstance(condition, dict):
        return Condition(("never",), _never)
    kind = condition.get("kind")
    compiler = _COMPILERS.get(kind) if isinstance(kind, str) else None
    return compiler(condition) if compiler is not None else Condition(("never",), _never)
