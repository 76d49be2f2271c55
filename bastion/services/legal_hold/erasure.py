"""Offboarding's erase keeps held events: the `HoldChecker` that offboarding asks.

Offboarding (services/offboarding/erasure.py) shows each batch of a leaver's events to
`held_events` in the transaction that erases the batch, and leaves the events named untouched
(counted as `events_held`). The erase UPDATE itself also carries the hold clause
(store/sql/offboarding.py, `not_held`), so a held event stays even if this check were skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

from bastion.store.database import Queryable
from bastion.store.protocols.compliance import HoldStore
from bastion.store.protocols.offboarding import ErasableEvent


class HeldFromErasure:
    """Names the events of a batch that an active legal hold covers."""

    def __init__(self, holds: HoldStore) -> None:
        self._holds = holds

    async def held_events(
        self, q: Queryable, user_id: str, events: Sequence[ErasableEvent]
    ) -> frozenset[str]:
        """The IDs, among `events` (all sent by `user_id`), that a hold covers."""
        del user_id  # the SQL reads each event's own sender and room
        return frozenset(await self._holds.held_among(q, [e.event_id for e in events]))
