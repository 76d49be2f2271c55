"""Which rule an event matches for a user, and what that means: notify, highlight, actions.

A `CompiledRuleset` is built once per user (and cached by the caller); `first_match` walks it in
priority order with a memo shared by all the room's members for one event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bastion.events.push_rules.conditions import (
    Condition,
    PushEvent,
    RoomFacts,
    compile_condition,
)
from bastion.events.push_rules.rules import PushRule, effective_conditions, in_priority_order

# Older specs' actions that servers must now ignore (spec: #historical-actions).
_HISTORICAL_ACTIONS = frozenset({"dont_notify", "coalesce"})


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """An enabled rule with its conditions compiled."""

    kind: str
    rule_id: str
    actions: list[Any]
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class CompiledRuleset:
    """A user's enabled rules in priority order."""

    rules: tuple[CompiledRule, ...]
    needs_power_levels: bool
    needs_display_name: bool


@dataclass(frozen=True, slots=True)
class PushOutcome:
    """What the matching rule asks for."""

    actions: list[Any]
    notify: bool
    highlight: bool


def clean_actions(actions: list[Any]) -> list[Any]:
    """`actions` without the historical ones."""
    return [a for a in actions if not (isinstance(a, str) and a in _HISTORICAL_ACTIONS)]


def compile_ruleset(rules: dict[str, list[PushRule]]) -> CompiledRuleset:
    """Compile the enabled rules of an effective ruleset (see rules.ruleset)."""
    compiled = tuple(
        CompiledRule(
            kind,
            rule.rule_id,
            clean_actions(rule.actions),
            tuple(compile_condition(c) for c in effective_conditions(kind, rule)),
        )
        for kind, rule in in_priority_order(rules)
        if rule.enabled
    )
    conditions = [c for rule in compiled for c in rule.conditions]
    return CompiledRuleset(
        compiled,
        needs_power_levels=any(c.needs_power_levels for c in conditions),
        needs_display_name=any(c.needs_display_name for c in conditions),
    )


def _holds(
    condition: Condition,
    event: PushEvent,
    room: RoomFacts,
    display_name: str | None,
    memo: dict[tuple[Any, ...], bool],
) -> bool:
    key = condition.memo_key
    if key is None:
        return condition.test(event, room, display_name)
    result = memo.get(key)
    if result is None:
        result = memo[key] = condition.test(event, room, display_name)
    return result


def first_match(
    ruleset: CompiledRuleset,
    event: PushEvent,
    room: RoomFacts,
    *,
    display_name: str | None = None,
    memo: dict[tuple[Any, ...], bool] | None = None,
) -> CompiledRule | None:
    """The most important enabled rule whose conditions all hold, or None."""
    memo = {} if memo is None else memo
    for rule in ruleset.rules:
        if all(_holds(c, event, room, display_name, memo) for c in rule.conditions):
            return rule
    return None


def outcome(actions: list[Any]) -> PushOutcome:
    """Whether `actions` notify and highlight (a highlight tweak without a value means true)."""
    highlight = False
    for action in actions:
        if isinstance(action, dict) and action.get("set_tweak") == "highlight":
            highlight = action.get("value", True) is True
    return PushOutcome(actions, notify="notify" in actions, highlight=highlight)
