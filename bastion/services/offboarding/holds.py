"""The legal-hold hook erasure asks before it redacts anything (the compliance work plugs in).

Erasure (erasure.py) hands each batch of a leaver's events to `HoldChecker.held_events` inside
the transaction that erases the batch, and never touches an event it names: a hold checked in
the same transaction cannot be placed between the check and the write unnoticed by the hold's
own writer (it commits before or after the whole batch). The default holds nothing; the
compliance work wires its checker in app/wiring.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bastion.store.database import Queryable
from bastion.store.protocols.offboarding import ErasableEvent


class HoldChecker(Protocol):
    """Which events a legal hold covers, so erasure must keep them."""

    async def held_events(
        self, q: Queryable, user_id: str, events: Sequence[ErasableEvent]
    ) -> frozenset[str]:
        """The IDs, among `events` (all sent by `user_id`), that a hold covers."""
        ...


class NoHolds:
    """No legal holds: nothing is kept from erasure."""

    async def held_events(
        self, q: Queryable, user_id: str, events: Sequence[ErasableEvent]
    ) -> frozenset[str]:
        return frozenset()
