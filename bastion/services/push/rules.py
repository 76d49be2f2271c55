"""`/pushrules`: reading and changing a user's push rules.

A change loads the user's document, applies one pure edit (events/push_rules/edits.py) and writes
it back with a compare-and-set on its version, so two clients changing rules at once cannot
lose each other's change. After the commit the effective ruleset goes out as `m.push_rules`
account data (clients learn of the change through /sync) and `CacheInvalidated(RULESETS_CACHE,
user_id)` goes on the bus, which drops the evaluator's cached ruleset in every process.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.events.push_rules import edits
from bastion.events.push_rules.rules import UserPushRules, rule_json, ruleset, ruleset_json
from bastion.json_types import JsonObject
from bastion.pubsub.base import Bus
from bastion.pubsub.messages import CacheInvalidated
from bastion.services.account_data import AccountDataService
from bastion.services.principal import Requester
from bastion.services.push.rulesets import NO_CHANGES, RULESETS_CACHE, decode_rules
from bastion.store.database import Database
from bastion.store.protocols.push import PushRuleStore

PUSH_RULES = "m.push_rules"
_MAX_ATTEMPTS = 10


class PushRuleService:
    """The push rules API, for the requester's own rules only (the paths carry no user)."""

    def __init__(
        self,
        db: Database,
        store: PushRuleStore,
        bus: Bus,
        account_data: AccountDataService,
    ) -> None:
        self._db = db
        self._store = store
        self._bus = bus
        self._account_data = account_data

    async def rules_of(self, user_id: str) -> UserPushRules:
        """What the user changed (nothing, for most users)."""
        stored = await self._store.get_rules(self._db, user_id)
        return decode_rules(stored[0]) if stored is not None else NO_CHANGES

    async def push_rules_content(self, user_id: str) -> JsonObject:
        """The content of the user's `m.push_rules` account data."""
        return {"global": ruleset_json(ruleset(user_id, await self.rules_of(user_id)))}

    async def get_all(self, requester: Requester) -> JsonObject:
        """`GET /pushrules/`."""
        return await self.push_rules_content(requester.user_id)

    async def get_rule(self, requester: Requester, kind: str, rule_id: str) -> JsonObject:
        """`GET /pushrules/global/{kind}/{ruleId}`."""
        custom = await self.rules_of(requester.user_id)
        return rule_json(kind, edits.find_rule(requester.user_id, custom, kind, rule_id))

    async def put_rule(
        self,
        requester: Requester,
        kind: str,
        rule_id: str,
        body: JsonObject,
        *,
        before: str | None,
        after: str | None,
    ) -> None:
        """`PUT /pushrules/global/{kind}/{ruleId}`."""
        await self._change(
            requester.user_id,
            lambda c: edits.put_rule(c, kind, rule_id, body, before=before, after=after),
        )

    async def delete_rule(self, requester: Requester, kind: str, rule_id: str) -> None:
        """`DELETE /pushrules/global/{kind}/{ruleId}`."""
        await self._change(requester.user_id, lambda c: edits.delete_rule(c, kind, rule_id))

    async def set_enabled(
        self, requester: Requester, kind: str, rule_id: str, enabled: bool
    ) -> None:
        """`PUT /pushrules/global/{kind}/{ruleId}/enabled`."""
        await self._change(
            requester.user_id, lambda c: edits.set_enabled(c, kind, rule_id, enabled)
        )

    async def set_actions(
        self, requester: Requester, kind: str, rule_id: str, actions: object
    ) -> None:
        """`PUT /pushrules/global/{kind}/{ruleId}/actions`."""
        await self._change(
            requester.user_id, lambda c: edits.set_actions(c, kind, rule_id, actions)
        )

    async def follow_room(self, user_id: str, old_room: str, new_room: str) -> None:
        """Copy the user's rules for an upgraded room to its replacement (edits.follow_room);
        nothing is written when there is none."""
        custom = await self.rules_of(user_id)
        if edits.follow_room(custom, old_room, new_room) is custom:
            return
        await self._change(user_id, lambda c: edits.follow_room(c, old_room, new_room))

    async def _change(self, user_id: str, edit: Callable[[UserPushRules], UserPushRules]) -> None:
        for _ in range(_MAX_ATTEMPTS):
            stored = await self._store.get_rules(self._db, user_id)
            custom = decode_rules(stored[0]) if stored is not None else NO_CHANGES
            changed = edit(custom)
            async with self._db.transaction() as t:
                written = await self._store.put_rules(
                    t,
                    user_id,
                    msgspec.json.encode(changed).decode(),
                    expected_version=stored[1] if stored is not None else None,
                )
            if written:
                break
        else:
            raise MatrixError(503, Errcode.UNKNOWN, "push rules are changing; try again")
        self._bus.publish(CacheInvalidated(RULESETS_CACHE, user_id))
        content = {"global": ruleset_json(ruleset(user_id, changed))}
        await self._account_data.put_server_managed(user_id, "", PUSH_RULES, content)
