"""The push event hook: what a new event means for the room's members, stored with it.

Runs in the `record` phase (services/event_hooks.py), inside the pipeline's transaction, so an
event and its notifications commit together and the new unread count is in the same /sync
response as the event (spec: #server-behaviour-1). Power levels and the room version come from
the pipeline's context: nothing here reads them again.

A message costs a constant number of rows whatever the size of its room: one generic outcome
(what the rules give every member who kept the default rules and whom the event does not name,
evaluated once) with the thread's new running totals, plus one row per member whose outcome
differs: members the event names (`m.mentions.user_ids`, an invitee), members with their own
rules whose outcome is not the generic one, and members who ignore the sender (nothing). Each
condition is tested at most once per event thanks to the shared memo.

The sender's own event moves their read mark in its thread (spec: notifications are marked read
"by using the API or by sending an event"); a join starts the joiner's marks in every thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from typing_extensions import override

from bastion.events.model import StoredEvent
from bastion.events.push_rules.conditions import PushEvent, RoomFacts
from bastion.events.push_rules.evaluate import (
    CompiledRuleset,
    PushOutcome,
    first_match,
    outcome,
)
from bastion.events.types import EventType
from bastion.services.event_hooks import EventContext, EventHook
from bastion.services.ignored_users import IgnoredUsers
from bastion.services.members_cache import RoomMembersCache
from bastion.services.push.rulesets import RulesetCache, default_ruleset_for
from bastion.services.relations.thread_of import thread_of
from bastion.store.database import Queryable
from bastion.store.protocols import RelationStore, StateStore
from bastion.store.protocols.push import PushActionStore, PushOutcomeRecord

# Evaluates the defaults for "any member the event does not name": it can never be named.
_ANYONE = "\x00anyone"
_DEFAULT_FOR_ANYONE = default_ruleset_for(_ANYONE)


class PushActionRecorder(EventHook):
    """Evaluates push rules for the members of an event's room and stores the notifications."""

    def __init__(
        self,
        rules: RulesetCache,
        actions: PushActionStore,
        members: RoomMembersCache,
        ignored: IgnoredUsers,
        *,
        relations: RelationStore,
        state: StateStore,
    ) -> None:
        self._rules = rules
        self._actions = actions
        self._members = members
        self._ignored = ignored
        self._relations = relations
        self._state = state

    @override
    async def record(self, q: Queryable, event: StoredEvent, context: EventContext) -> None:
        """Store what `event` means for the room's members, and move the sender's read mark; a
        redaction withdraws the notifications of the event it redacts."""
        redacts = event.content.get("redacts") if event.type == EventType.REDACTION else None
        if isinstance(redacts, str):
            await self._actions.withdraw(q, redacts)
        thread_id, generic, differences = await self._outcomes(q, event, context)
        await self._actions.insert_differences(q, differences)
        joins = _joins(event)
        if generic.notify or generic.highlight:
            record = self._outcome(event, thread_id, generic)
            if not joins:  # stored with the thread's new totals, the sender's mark moved there
                await self._actions.insert_generic_marking_read(q, record, event.sender)
                return
            await self._actions.insert_generic(q, record, event.sender)
        if joins:  # reading starts at the join, in every thread
            await self._actions.mark_all_threads_read(
                q, event.sender, event.room_id, upto=event.stream_ordering
            )
        else:  # one's own event marks one's notifications in its thread read
            await self._actions.mark_read(
                q, event.sender, event.room_id, thread_id, upto=event.stream_ordering
            )

    @override
    async def record_group(
        self, q: Queryable, written: Sequence[tuple[StoredEvent, EventContext]]
    ) -> None:
        """A group of messages: every event's differing outcomes in one statement, the generic
        outcomes with the senders' marks in another (push.py); an event that notifies nobody
        still moves its sender's mark."""
        if any(_joins(e) or _invitee(e) or e.type == EventType.REDACTION for e, _ in written):
            await super().record_group(q, written)
            return
        differences: list[PushOutcomeRecord] = []
        generics: list[tuple[PushOutcomeRecord, str]] = []
        unmarked: list[tuple[StoredEvent, str]] = []
        for event, context in written:
            thread_id, generic, own = await self._outcomes(q, event, context)
            differences += own
            if generic.notify or generic.highlight:
                generics.append((self._outcome(event, thread_id, generic), event.sender))
            else:
                unmarked.append((event, thread_id))
        await self._actions.insert_differences(q, differences)
        await self._actions.insert_generics_marking_read(q, generics)
        for event, thread_id in unmarked:  # after the generics: its mark reads their totals
            await self._actions.mark_read(
                q, event.sender, event.room_id, thread_id, upto=event.stream_ordering
            )

    async def _outcomes(
        self, q: Queryable, event: StoredEvent, context: EventContext
    ) -> tuple[str, PushOutcome, list[PushOutcomeRecord]]:
        """The event's thread, its generic outcome, and the recipients' differing ones."""
        thread_id = await thread_of(q, self._relations, event)
        joined = await self._members.joined_in(q, event.room_id)
        recipients = [u for u in joined if u != event.sender]
        invited = _invitee(event)
        if invited is not None and invited not in joined:
            recipients.append(invited)
        generic, differences = await self._evaluate(
            q, event, context, recipients, joined, thread_id
        )
        return thread_id, generic, differences

    async def _evaluate(
        self,
        q: Queryable,
        event: StoredEvent,
        context: EventContext,
        recipients: list[str],
        joined: set[str],
        thread_id: str,
    ) -> tuple[PushOutcome, list[PushOutcomeRecord]]:
        """The generic outcome, and the recipients whose outcome differs from it."""
        custom = await self._rules.customised(q, recipients)
        named = _named_users(event)
        needs_power = _mentions_room(event) or any(c.needs_power_levels for c in custom.values())
        facts = RoomFacts(
            len(joined), event.sender, context.power_levels() if needs_power else None
        )
        names = await self._display_names(q, event, [u for u, c in custom.items()
                                                    if c.compiled.needs_display_name])  # fmt: skip
        push_event = PushEvent(_push_fields(event))
        memo: dict[tuple[Any, ...], bool] = {}
        generic = outcome(_actions_of(_DEFAULT_FOR_ANYONE, push_event, facts, None, memo))
        ignoring = await self._ignored.who_ignore(q, event.sender, recipients)
        singled_out = set(custom) | ignoring | ({*recipients} - joined)
        singled_out |= set(recipients) if _ANYONE in named else named & set(recipients)
        differences: list[PushOutcomeRecord] = []
        for user_id in singled_out:
            if user_id in ignoring:
                mine = outcome([])
            else:
                entry = custom.get(user_id)
                ruleset = entry.compiled if entry is not None else default_ruleset_for(user_id)
                mine = outcome(_actions_of(ruleset, push_event, facts, names.get(user_id), memo))
            joined_member = user_id in joined
            if joined_member and (mine.notify, mine.highlight) == (
                generic.notify,
                generic.highlight,
            ):
                continue
            if not joined_member and not (mine.notify or mine.highlight):
                continue
            differences.append(
                msgspec.structs.replace(
                    self._outcome(event, thread_id, mine),
                    user_id=user_id,
                    generic_notify=generic.notify,
                    generic_highlight=generic.highlight,
                )
            )
        return generic, differences

    @staticmethod
    def _outcome(event: StoredEvent, thread_id: str, result: PushOutcome) -> PushOutcomeRecord:
        return PushOutcomeRecord(
            room_id=event.room_id, thread_id=thread_id, stream_ordering=event.stream_ordering,
            event_id=event.event_id, actions=msgspec.json.encode(result.actions).decode(),
            notify=result.notify, highlight=result.highlight, ts=event.origin_server_ts,
        )  # fmt: skip

    async def _display_names(
        self, q: Queryable, event: StoredEvent, user_ids: list[str]
    ) -> dict[str, str]:
        if not user_ids:
            return {}
        current = await self._state.current_events(
            q, event.room_id, [(EventType.MEMBER, u) for u in user_ids]
        )
        names: dict[str, str] = {}
        for (_, user_id), member in current.items():
            name = member.content.get("displayname")
            if isinstance(name, str) and user_id is not None:
                names[user_id] = name
        return names


def _actions_of(
    ruleset: CompiledRuleset,
    event: PushEvent,
    facts: RoomFacts,
    display_name: str | None,
    memo: dict[tuple[Any, ...], bool],
) -> list[Any]:
    rule = first_match(ruleset, event, facts, display_name=display_name, memo=memo)
    return rule.actions if rule is not None else []


def _push_fields(event: StoredEvent) -> dict[str, Any]:
    """The event as push rule conditions see it (keys of the client format)."""
    fields: dict[str, Any] = {
        "type": event.type,
        "sender": event.sender,
        "room_id": event.room_id,
        "event_id": event.event_id,
        "content": event.content,
    }
    if event.state_key is not None:
        fields["state_key"] = event.state_key
    return fields


def _joins(event: StoredEvent) -> bool:
    return (
        event.type == EventType.MEMBER
        and event.state_key == event.sender
        and event.content.get("membership") == "join"
    )


def _invitee(event: StoredEvent) -> str | None:
    if event.type == EventType.MEMBER and event.content.get("membership") == "invite":
        return event.state_key
    return None


def _mentions(event: StoredEvent) -> dict[str, Any]:
    mentions = event.content.get("m.mentions")
    return mentions if isinstance(mentions, dict) else {}


def _mentions_room(event: StoredEvent) -> bool:
    return _mentions(event).get("room") is True


def _named_users(event: StoredEvent) -> set[str]:
    """Users the default rules can single out: mentioned user IDs and the state key."""
    user_ids = _mentions(event).get("user_ids")
    named = {u for u in user_ids if isinstance(u, str)} if isinstance(user_ids, list) else set()
    if event.state_key is not None:
        named.add(event.state_key)
    return named
