"""Compiled push rulesets per user, cached in memory.

Most users never change their rules; for them nothing is stored and the cache holds `None`.
Compiling takes a few hundred microseconds, so a compiled ruleset is kept per customised user.
A user's entry is dropped when the bus carries `CacheInvalidated(RULESETS_CACHE, user_id)`,
which the push rules API publishes after a change commits (subscribed in app/wiring.py).
Invariant: a read that overlapped an invalidation is not kept, so rules read before a change
committed never outlive that change's invalidation.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from bastion.events.push_rules.evaluate import CompiledRuleset, compile_ruleset
from bastion.events.push_rules.rules import PushRule, UserPushRules, ruleset
from bastion.store.database import Queryable
from bastion.store.protocols.push import PushRuleStore

NO_CHANGES = UserPushRules()
RULESETS_CACHE = "push_rules"  # the cache name in `CacheInvalidated`; keys are user IDs


def decode_rules(raw: str) -> UserPushRules:
    """A stored push rule document."""
    return msgspec.json.decode(raw, type=UserPushRules)


def _user_rules_need_power_levels(custom: UserPushRules) -> bool:
    """Whether a user's own rules (not the server defaults, whose only such condition is guarded
    by `m.mentions.room`) ask for the sender's notification permission."""
    own: list[PushRule] = [r for rules in custom.rules.values() for r in rules]
    return any(
        isinstance(c, dict) and c.get("kind") == "sender_notification_permission"
        for r in own
        for c in r.conditions or []
    )


@dataclass(frozen=True, slots=True)
class CustomRuleset:
    """A customised user's compiled rules and whether their own rules need power levels."""

    compiled: CompiledRuleset
    needs_power_levels: bool


class RulesetCache:
    """user_id -> the user's compiled rules, or None when they kept the defaults."""

    def __init__(self, store: PushRuleStore, max_users: int = 100_000) -> None:
        self._store = store
        self._max_users = max_users
        self._custom: OrderedDict[str, CustomRuleset | None] = OrderedDict()
        self._invalidations = 0  # bumped by every invalidate(): an overlapping read is not kept

    async def customised(self, q: Queryable, user_ids: Sequence[str]) -> dict[str, CustomRuleset]:
        """The compiled rules of those of `user_ids` who changed theirs (one query for the
        users not cached yet)."""
        missing = [u for u in user_ids if u not in self._custom]
        read: dict[str, CustomRuleset | None] = {}
        if missing:
            invalidations = self._invalidations
            stored = await self._store.get_rules_of(q, missing)
            for user_id in missing:
                raw = stored.get(user_id)
                read[user_id] = _compiled(user_id, None if raw is None else decode_rules(raw))
            if invalidations == self._invalidations:
                for user_id, entry in read.items():
                    self._keep(user_id, entry)
        found: dict[str, CustomRuleset] = {}
        for user_id in user_ids:
            entry = read[user_id] if user_id in read else self._custom.get(user_id)
            if entry is not None:
                found[user_id] = entry
        return found

    def clear(self) -> None:
        """Anyone's rules may have changed (invalidations from other processes were missed)."""
        self._invalidations += 1
        self._custom.clear()

    def invalidate(self, user_id: str) -> None:
        """The user's rules changed and committed: read them again when next needed."""
        self._invalidations += 1
        self._custom.pop(user_id, None)

    def _keep(self, user_id: str, entry: CustomRuleset | None) -> None:
        self._custom[user_id] = entry
        self._custom.move_to_end(user_id)
        if len(self._custom) > self._max_users:
            self._custom.popitem(last=False)


def _compiled(user_id: str, custom: UserPushRules | None) -> CustomRuleset | None:
    """A customised user's compiled rules; None for a user who kept the defaults."""
    if custom is None or custom == NO_CHANGES:
        return None
    return CustomRuleset(
        compile_ruleset(ruleset(user_id, custom)), _user_rules_need_power_levels(custom)
    )


def default_ruleset_for(user_id: str) -> CompiledRuleset:
    """The server defaults compiled for one user."""
    return compile_ruleset(ruleset(user_id, NO_CHANGES))
