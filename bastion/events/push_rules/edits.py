"""Changing a user's push rules: the checks and the pure edits behind the /pushrules endpoints.

spec: client-server-api#push-rules-api. Every function returns a new `UserPushRules` (documents
are frozen) or raises `MatrixError`: 404 M_NOT_FOUND for a rule that does not exist, 400 for a
request that cannot configure a rule (the spec's example code M_UNKNOWN), 400 M_BAD_JSON for a
body of the wrong shape.
"""

from __future__ import annotations

from typing import Any

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.events.push_rules.rules import (
    KINDS,
    DefaultRuleSetting,
    PushRule,
    UserPushRules,
    find_default,
    ruleset,
)
from bastion.json_types import JsonObject

MAX_USER_RULES = 500
_ACTION_NAMES = frozenset({"notify", "dont_notify", "coalesce"})


def require_kind(kind: str) -> None:
    """400 unless `kind` is one of the five rule kinds."""
    if kind not in KINDS:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"unknown push rule kind {kind!r}")


def _not_found(kind: str, rule_id: str) -> MatrixError:
    return MatrixError(404, Errcode.NOT_FOUND, f"no {kind} push rule {rule_id!r}")


def _refuse(message: str) -> MatrixError:
    return MatrixError(400, Errcode.UNKNOWN, message)


def find_rule(user_id: str, custom: UserPushRules, kind: str, rule_id: str) -> PushRule:
    """One rule of the user's effective ruleset; 404 when there is none."""
    require_kind(kind)
    for rule in ruleset(user_id, custom)[kind]:
        if rule.rule_id == rule_id:
            return rule
    raise _not_found(kind, rule_id)


def check_actions(actions: object) -> list[Any]:
    """The actions list, checked: strings from the spec, or objects naming a tweak."""
    if not isinstance(actions, list):
        raise MatrixError(400, Errcode.BAD_JSON, "actions must be a list")
    for action in actions:
        if isinstance(action, str):
            if action not in _ACTION_NAMES:
                raise _refuse(f"unknown push rule action {action!r}")
        elif not isinstance(action, dict) or not isinstance(action.get("set_tweak"), str):
            raise _refuse(f"invalid push rule action {action!r}")
    return actions


def _check_conditions(conditions: object) -> list[JsonObject]:
    if not isinstance(conditions, list) or not all(
        isinstance(c, dict) and isinstance(c.get("kind"), str) for c in conditions
    ):
        raise MatrixError(400, Errcode.BAD_JSON, "conditions must be a list of objects with a kind")
    return conditions


def _new_rule(kind: str, rule_id: str, body: JsonObject) -> PushRule:
    if rule_id.startswith("."):
        raise _refuse("rule IDs starting with '.' are reserved for server-default rules")
    if not rule_id or "/" in rule_id or "\\" in rule_id:
        raise _refuse(f"invalid rule ID {rule_id!r}")
    actions = check_actions(body.get("actions"))
    if kind == "content":
        pattern = body.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise _refuse("content rules need a non-empty pattern")
        return PushRule(rule_id, actions, pattern=pattern)
    if kind in ("override", "underride"):
        return PushRule(rule_id, actions, conditions=_check_conditions(body.get("conditions", [])))
    return PushRule(rule_id, actions)


def _position(rules: list[PushRule], kind: str, before: str | None, after: str | None) -> int:
    """Where a rule goes: just above `before`, just below `after`, else at the top."""
    anchor = before if before is not None else after
    if anchor is None:
        return 0
    for index, rule in enumerate(rules):
        if rule.rule_id == anchor:
            return index if before is not None else index + 1
    raise _refuse(f"{anchor!r} is not one of your {kind} rules")


def put_rule(
    custom: UserPushRules,
    kind: str,
    rule_id: str,
    body: JsonObject,
    *,
    before: str | None = None,
    after: str | None = None,
) -> UserPushRules:
    """Add or replace a user-defined rule (new rules are enabled)."""
    require_kind(kind)
    rule = _new_rule(kind, rule_id, body)
    rules = list(custom.rules.get(kind, []))
    existing = next((i for i, r in enumerate(rules) if r.rule_id == rule_id), None)
    if existing is not None:
        rule = msgspec.structs.replace(rule, enabled=rules[existing].enabled)
        if before is None and after is None:
            rules[existing] = rule
            return _with_kind(custom, kind, rules)
        del rules[existing]
    elif sum(len(v) for v in custom.rules.values()) >= MAX_USER_RULES:
        raise _refuse(f"you already have {MAX_USER_RULES} push rules")
    rules.insert(_position(rules, kind, before, after), rule)
    return _with_kind(custom, kind, rules)


def delete_rule(custom: UserPushRules, kind: str, rule_id: str) -> UserPushRules:
    """Remove a user-defined rule; server-default rules can only be disabled."""
    require_kind(kind)
    if find_default(kind, rule_id) is not None:
        raise _refuse(f"{rule_id} is a server-default rule: disable it instead")
    rules = custom.rules.get(kind, [])
    if not any(r.rule_id == rule_id for r in rules):
        raise _not_found(kind, rule_id)
    return _with_kind(custom, kind, [r for r in rules if r.rule_id != rule_id])


def set_enabled(custom: UserPushRules, kind: str, rule_id: str, enabled: bool) -> UserPushRules:
    """Enable or disable any rule the user has."""
    return _change(custom, kind, rule_id, enabled=enabled)


def set_actions(custom: UserPushRules, kind: str, rule_id: str, actions: object) -> UserPushRules:
    """Replace the actions of any rule the user has."""
    return _change(custom, kind, rule_id, actions=check_actions(actions))


def _change(
    custom: UserPushRules,
    kind: str,
    rule_id: str,
    *,
    enabled: bool | None = None,
    actions: list[Any] | None = None,
) -> UserPushRules:
    require_kind(kind)
    if find_default(kind, rule_id) is not None:
        old = custom.defaults.get(rule_id, DefaultRuleSetting())
        setting = DefaultRuleSetting(
            enabled=old.enabled if enabled is None else enabled,
            actions=old.actions if actions is None else actions,
        )
        return msgspec.structs.replace(custom, defaults={**custom.defaults, rule_id: setting})
    rules = list(custom.rules.get(kind, []))
    for index, rule in enumerate(rules):
        if rule.rule_id == rule_id:
            rules[index] = msgspec.structs.replace(
                rule,
                enabled=rule.enabled if enabled is None else enabled,
                actions=rule.actions if actions is None else actions,
            )
            return _with_kind(custom, kind, rules)
    raise _not_found(kind, rule_id)


def _with_kind(custom: UserPushRules, kind: str, rules: list[PushRule]) -> UserPushRules:
    return msgspec.structs.replace(custom, rules={**custom.rules, kind: rules})


def follow_room(custom: UserPushRules, old_room: str, new_room: str) -> UserPushRules:
    """The user's rules for `old_room` copied for `new_room`, which replaced it (a room upgrade):
    the `room` rule named after the old room, and `override` rules that match the old room's
    ID only (Element's "mute"), each renamed after the new room. Rules the new room already has
    are kept as they are; nothing to copy returns `custom` itself."""
    copied: dict[str, list[PushRule]] = {}
    for kind in ("override", "room"):
        rules = custom.rules.get(kind, [])
        taken = {r.rule_id for r in rules}
        for rule in rules:
            moved = _for_room(kind, rule, old_room, new_room)
            if moved is not None and moved.rule_id not in taken:
                copied.setdefault(kind, []).append(moved)
                taken.add(moved.rule_id)
    if not copied:
        return custom
    return msgspec.structs.replace(
        custom,
        rules={**custom.rules, **{k: [*v, *custom.rules.get(k, [])] for k, v in copied.items()}},
    )


def _for_room(kind: str, rule: PushRule, old_room: str, new_room: str) -> PushRule | None:
    if kind == "room":
        return msgspec.structs.replace(rule, rule_id=new_room) if rule.rule_id == old_room else None
    match = {"kind": "event_match", "key": "room_id", "pattern": old_room}
    if rule.conditions != [match]:
        return None
    rule_id = new_room if rule.rule_id == old_room else f"{rule.rule_id}.{new_room}"
    conditions = [{**match, "pattern": new_room}]
    return msgspec.structs.replace(rule, rule_id=rule_id, conditions=conditions)
