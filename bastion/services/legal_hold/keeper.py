"""Redaction never loses a held event: its original goes to the hold store first.

An event hook: in the transaction of a redaction, before the pipeline replaces the target's
stored PDU with the redacted form (the hooks' `record` runs first), the original is copied into
`held_event_originals` when an active hold covers the target (the SQL decides). Clients still
see the redacted form; exports read the hold store.
"""

from __future__ import annotations

from typing_extensions import override

from bastion.clock import Clock
from bastion.events.model import StoredEvent
from bastion.events.types import EventType
from bastion.services.event_hooks import EventContext, EventHook
from bastion.store.database import Queryable
from bastion.store.protocols.compliance import HoldStore


class HeldOriginalKeeper(EventHook):
    """Copies a held redaction target's original into the hold store."""

    def __init__(self, holds: HoldStore, clock: Clock) -> None:
        self._holds, self._clock = holds, clock

    @override
    async def record(self, q: Queryable, event: StoredEvent, context: EventContext) -> None:
        redacts = event.content.get("redacts") if event.type == EventType.REDACTION else None
        if isinstance(redacts, str):
            await self._holds.keep_original_of(q, redacts, event.event_id, self._clock.now_ms())
