"""The rule model, the server-default rules (spec v1.17), and merging a user's changes into them.

Priority, highest first: `.m.rule.master`, then per kind (override, content, room, sender,
underride) the user's rules before the server-default rules of that kind. Inside a kind a user's
rules keep the order they were given (`before`/`after` on PUT).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from bastion.json_types import JsonObject

KINDS = ("override", "content", "room", "sender", "underride")
MASTER = ".m.rule.master"
# Stands for the owner's user ID in the default rules.
USER_ID = "\x00user_id"

_SOUND = {"set_tweak": "sound", "value": "default"}
_HIGHLIGHT = {"set_tweak": "highlight"}


class PushRule(msgspec.Struct, frozen=True):
    """One rule; `conditions` for override/underride, `pattern` for content rules."""

    rule_id: str
    actions: list[Any]
    enabled: bool = True
    default: bool = False
    conditions: list[JsonObject] | None = None
    pattern: str | None = None


class DefaultRuleSetting(msgspec.Struct, frozen=True, omit_defaults=True):
    """A user's change to a server-default rule: enabled and/or actions."""

    enabled: bool | None = None
    actions: list[Any] | None = None


class UserPushRules(msgspec.Struct, frozen=True):
    """Everything a user changed: their own rules by kind (most important first) and their
    settings of server-default rules by rule ID. Stored as JSON, one document per user."""

    rules: dict[str, list[PushRule]] = msgspec.field(default_factory=dict)
    defaults: dict[str, DefaultRuleSetting] = msgspec.field(default_factory=dict)


def _match(key: str, pattern: str) -> JsonObject:
    return {"kind": "event_match", "key": key, "pattern": pattern}


def _is(key: str, value: object) -> JsonObject:
    return {"kind": "event_property_is", "key": key, "value": value}


def _rule(rule_id: str, conditions: list[JsonObject], actions: list[Any]) -> PushRule:
    return PushRule(rule_id, actions, enabled=True, default=True, conditions=conditions)


_DEFAULT_OVERRIDE = (
    PushRule(MASTER, [], enabled=False, default=True, conditions=[]),
    _rule(".m.rule.suppress_notices", [_match("content.msgtype", "m.notice")], []),
    _rule(
        ".m.rule.invite_for_me",
        [
            _match("type", "m.room.member"),
            _match("content.membership", "invite"),
            _match("state_key", USER_ID),
        ],
        ["notify", _SOUND],
    ),
    _rule(".m.rule.member_event", [_match("type", "m.room.member")], []),
    _rule(
        ".m.rule.is_user_mention",
        [
            {
                "kind": "event_property_contains",
                "key": "content.m\\.mentions.user_ids",
                "value": USER_ID,
            }
        ],
        ["notify", _SOUND, _HIGHLIGHT],
    ),
    _rule(
        ".m.rule.is_room_mention",
        [
            _is("content.m\\.mentions.room", True),
            {"kind": "sender_notification_permission", "key": "room"},
        ],
        ["notify", _HIGHLIGHT],
    ),
    _rule(
        ".m.rule.tombstone",
        [_match("type", "m.room.tombstone"), _match("state_key", "")],
        ["notify", _HIGHLIGHT],
    ),
    _rule(".m.rule.reaction", [_match("type", "m.reaction")], []),
    _rule(
        ".m.rule.room.server_acl",
        [_match("type", "m.room.server_acl"), _match("state_key", "")],
        [],
    ),
    _rule(".m.rule.suppress_edits", [_is("content.m\\.relates_to.rel_type", "m.replace")], []),
)
_DEFAULT_UNDERRIDE = (
    _rule(
        ".m.rule.call",
        [_match("type", "m.call.invite")],
        ["notify", {"set_tweak": "sound", "value": "ring"}],
    ),
    _rule(
        ".m.rule.encrypted_room_one_to_one",
        [{"kind": "room_member_count", "is": "2"}, _match("type", "m.room.encrypted")],
        ["notify", _SOUND],
    ),
    _rule(
        ".m.rule.room_one_to_one",
        [{"kind": "room_member_count", "is": "2"}, _match("type", "m.room.message")],
        ["notify", _SOUND],
    ),
    _rule(".m.rule.message", [_match("type", "m.room.message")], ["notify"]),
    _rule(".m.rule.encrypted", [_match("type", "m.room.encrypted")], ["notify"]),
)
DEFAULT_RULES: dict[str, tuple[PushRule, ...]] = {
    "override": _DEFAULT_OVERRIDE,
    "content": (),
    "room": (),
    "sender": (),
    "underride": _DEFAULT_UNDERRIDE,
}


def find_default(kind: str, rule_id: str) -> PushRule | None:
    """The server-default rule of `kind` called `rule_id`, if there is one."""
    return next((r for r in DEFAULT_RULES.get(kind, ()) if r.rule_id == rule_id), None)


def _personal(value: Any, user_id: str) -> Any:
    """`value` with the owner placeholder replaced by `user_id`, recursively."""
    if value == USER_ID:
        return user_id
    if isinstance(value, dict):
        return {k: _personal(v, user_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_personal(v, user_id) for v in value]
    return value


def _apply_setting(rule: PushRule, setting: DefaultRuleSetting | None, user_id: str) -> PushRule:
    conditions = _personal(rule.conditions, user_id) if rule.conditions is not None else None
    if setting is None:
        return msgspec.structs.replace(rule, conditions=conditions)
    return msgspec.structs.replace(
        rule,
        conditions=conditions,
        enabled=rule.enabled if setting.enabled is None else setting.enabled,
        actions=rule.actions if setting.actions is None else setting.actions,
    )


def ruleset(user_id: str, custom: UserPushRules) -> dict[str, list[PushRule]]:
    """The effective rules of each kind, most important first, for `user_id`."""
    result: dict[str, list[PushRule]] = {}
    for kind in KINDS:
        defaults = [
            _apply_setting(r, custom.defaults.get(r.rule_id), user_id) for r in DEFAULT_RULES[kind]
        ]
        own = list(custom.rules.get(kind, []))
        if kind == "override":
            master, others = defaults[0], defaults[1:]
            result[kind] = [master, *own, *others]
        else:
            result[kind] = [*own, *defaults]
    return result


def in_priority_order(rules: dict[str, list[PushRule]]) -> Iterator[tuple[str, PushRule]]:
    """(kind, rule) pairs in the order they are tried."""
    for kind in KINDS:
        for rule in rules.get(kind, []):
            yield kind, rule


def rule_json(kind: str, rule: PushRule) -> JsonObject:
    """A rule as the client-server API shows it (spec: definitions/push_rule.yaml)."""
    body: JsonObject = {
        "rule_id": rule.rule_id,
        "actions": rule.actions,
        "default": rule.default,
        "enabled": rule.enabled,
    }
    if kind in ("override", "underride"):
        body["conditions"] = rule.conditions or []
    if kind == "content" and rule.pattern is not None:
        body["pattern"] = rule.pattern
    return body


def ruleset_json(rules: dict[str, list[PushRule]]) -> JsonObject:
    """The `global` ruleset object of `GET /pushrules/` and the `m.push_rules` account data."""
    return {kind: [rule_json(kind, r) for r in rules.get(kind, [])] for kind in KINDS}


def effective_conditions(kind: str, rule: PushRule) -> list[JsonObject]:
    """The conditions a rule stands for: room and sender rules match their rule ID; content
    rules match their pattern in the body."""
    if kind == "room":
        return [_match("room_id", rule.rule_id)]
    if kind == "sender":
        return [_match("sender", rule.rule_id)]
    if kind == "content":
        return [_match("content.body", rule.pattern or "")]
    return list(rule.conditions or [])
