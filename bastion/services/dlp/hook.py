"""THE data-leak prevention event hook: every room event with text, one place.

Wired once in the pipeline's hook list (app/wiring.py), so every path that writes a room event
(send, state, createRoom's name and topic, edits, batches) passes it. It looks only at events
in rooms without `m.room.encryption` state (an encrypted room's messages are ciphertext: the
server cannot read them, and DLP does not pretend to), and at the fields `content.py` lists.
The server notices account is exempt (its warnings name policies, which could match keywords).

Phases (services/event_hooks.py):
- `check`, before anything is written: `block` policies refuse the event (403 M_FORBIDDEN in
  the organisation's language, naming the policy and what to do instead), else `redact`
  policies return a new draft whose matched text is replaced (the seam: a hook's `check` may
  return a replacement draft; docs/subsystems/event-hooks.md). Both are audited at once, in a
  transaction of their own (`dlp.block`, `dlp.redact`), since the event's does not exist yet.
  Block wins over redact; warn and flag policies see the text after redaction.
- `record`, in the event's transaction: `warn` and `flag` policies; their audit records
  (`dlp.warn`, `dlp.flag`) and the review entries commit with the event or not at all.
- `committed`: the `warn` server notice to the sender (a failure is logged; the event stands).

Evaluation costs no query when nothing matches: the encryption state is read only once a policy
has found something. No record, review or notice carries the matched text (audit details: the
policy, the detectors, the fields, how many, the room, the event type).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from typing_extensions import override

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.events.builder import EventDraft
from bastion.events.model import StoredEvent
from bastion.events.types import EventType
from bastion.services.audit.trail import AuditTrail
from bastion.services.dlp.content import Path, redacted_content, text_fields
from bastion.services.dlp.messages import block_message, warning_notice
from bastion.services.dlp.policies import DlpEngine, Hit, find
from bastion.services.event_hooks import CommittedEvent, EventContext, EventHook
from bastion.services.principal import Principal, ServerActor
from bastion.store.database import Database, Queryable
from bastion.store.protocols import StateStore
from bastion.store.protocols.dlp import DlpReviewStore, NewDlpReview

log = logging.getLogger(__name__)

DLP_ACTOR = ServerActor("data-leak prevention")
_BEFORE_WRITE = ("block", "redact")
_WITH_EVENT = ("warn", "flag")
_MAX_PENDING = 1024  # warnings awaiting commit (a rolled-back event's entry ages out)


class NoticeSender(Protocol):
    """Sends a server notice to a user (services/notices.py implements it)."""

    async def send(self, actor: Principal, user_id: str, content: dict[str, Any]) -> str: ...


@dataclass(frozen=True, slots=True)
class DlpStores:
    """What the hook reads (encryption state) and writes (review entries)."""

    state: StateStore
    reviews: DlpReviewStore


def _by_policy(hits: Sequence[Hit]) -> dict[str, list[Hit]]:
    grouped: dict[str, list[Hit]] = {}
    for hit in hits:
        grouped.setdefault(hit.policy.name, []).append(hit)
    return grouped


def _details(hits: Sequence[Hit], event_type: str, room_id: str | None) -> dict[str, Any]:
    """What an audit record says about a policy's hits: never the matched text."""
    return {
        "policy": hits[0].policy.name,
        "action": hits[0].policy.action,
        "detectors": sorted({h.finding.detector for h in hits}),
        "fields": sorted({h.field.name for h in hits}),
        "count": len(hits),
        "room_id": room_id,
        "event_type": event_type,
    }


class DlpHook(EventHook):
    """Applies the `dlp` policies in force to every room event with text."""

    def __init__(
        self,
        db: Database,
        engine: DlpEngine,
        stores: DlpStores,
        audit: AuditTrail,
        clock: Clock,
        *,
        exempt_senders: frozenset[str] = frozenset(),
    ) -> None:
        self._db, self._engine, self._stores = db, engine, stores
        self._audit, self._clock = audit, clock
        self._exempt = exempt_senders
        self._notices: NoticeSender | None = None
        self._warnings: OrderedDict[str, list[Hit]] = OrderedDict()

    def use_notices(self, notices: NoticeSender, sender: str) -> None:
        """Wire the server notices (built after the pipeline); `sender` is their account."""
        self._notices = notices
        self._exempt = self._exempt | {sender}

    @override
    async def check(self, room_id: str | None, draft: EventDraft) -> EventDraft | None:
        hits = await self._hits(room_id, draft.type, draft.sender, draft.content, _BEFORE_WRITE)
        if not hits or await self._is_encrypted(self._db, room_id):
            return None
        blocks = [hit for hit in hits if hit.policy.action == "block"]
        if blocks:
            await self._audit_alone("dlp.block", room_id, draft, blocks)
            first = blocks[0].policy.name
            detectors = [hit.finding.detector for hit in blocks if hit.policy.name == first]
            message = block_message(first, detectors, await self._engine.language())
            raise MatrixError(403, Errcode.FORBIDDEN, message)
        await self._audit_alone("dlp.redact", room_id, draft, hits)
        spans: dict[Path, list[tuple[int, int]]] = {}
        for hit in hits:
            spans.setdefault(hit.field.path, []).append((hit.finding.start, hit.finding.end))
        fields = text_fields(draft.type, draft.content)
        content = redacted_content(draft.content, spans, fields)
        return EventDraft(draft.type, draft.sender, content, draft.state_key)

    @override
    async def record(self, q: Queryable, event: StoredEvent, context: EventContext) -> None:
        hits = await self._hits(event.room_id, event.type, event.sender, event.content, _WITH_EVENT)
        if not hits or await self._is_encrypted(q, event.room_id):
            return
        warnings: list[Hit] = []
        for policy_hits in _by_policy(hits).values():
            details = {
                **_details(policy_hits, event.type, event.room_id),
                "event_id": event.event_id,
            }
            action = policy_hits[0].policy.action
            await self._audit.append(
                q, "user", event.sender, f"dlp.{action}", event.room_id, details
            )
            if action == "flag":
                await self._stores.reviews.insert_review(q, self._review(event, details))
            else:
                warnings.extend(policy_hits)
        if warnings:
            self._warnings[event.event_id] = warnings
            while len(self._warnings) > _MAX_PENDING:
                self._warnings.popitem(last=False)

    @override
    async def committed(self, committed: CommittedEvent) -> None:
        event = committed.event
        warnings = self._warnings.pop(event.event_id, None)
        if not warnings or self._notices is None:
            return
        language = await self._engine.language()
        for policy_hits in _by_policy(warnings).values():
            detectors = [hit.finding.detector for hit in policy_hits]
            body = warning_notice(policy_hits[0].policy.name, detectors, event.room_id, language)
            try:
                await self._notices.send(
                    DLP_ACTOR, event.sender, {"msgtype": "m.notice", "body": body}
                )
            except Exception:  # the event stands; the notice's own audit shows the failure
                log.exception("could not send the DLP warning for %s", event.event_id)

    async def _hits(
        self,
        room_id: str | None,
        event_type: str,
        sender: str,
        content: dict[str, Any],
        actions: tuple[str, ...],
    ) -> list[Hit]:
        if sender in self._exempt:
            return []
        fields = text_fields(event_type, content)
        if not fields:
            return []
        policies = [p for p in await self._engine.compiled() if p.action in actions]
        if not policies:
            return []
        return find(await self._engine.applicable(policies, room_id, sender), fields)

    async def _is_encrypted(self, q: Queryable, room_id: str | None) -> bool:
        if room_id is None:
            return False  # a room being created: its name and topic are checked as plain text
        key = (EventType.ENCRYPTION, "")
        return bool(await self._stores.state.current_events(q, room_id, [key]))

    async def _audit_alone(
        self, action: str, room_id: str | None, draft: EventDraft, hits: Sequence[Hit]
    ) -> None:
        async with self._db.transaction() as tx:
            for policy_hits in _by_policy(hits).values():
                details = _details(policy_hits, draft.type, room_id)
                await self._audit.append(tx, "user", draft.sender, action, room_id, details)

    def _review(self, event: StoredEvent, details: dict[str, Any]) -> NewDlpReview:
        return NewDlpReview(
            created_ts=self._clock.now_ms(),
            room_id=event.room_id,
            event_id=event.event_id,
            sender=event.sender,
            event_type=event.type,
            policy=details["policy"],
            detectors=details["detectors"],
            fields=details["fields"],
        )
