"""The `receipts` extension (MSC3960): m.receipt events of the rooms in the response.

`rooms` maps each selected room (its `lists`/`rooms`) with receipts to send to the m.receipt
event /sync would put in that room's `ephemeral`, built by the same code
(`EphemeralStreams.receipt_events`): private receipts reach only their owner, receipts of users
the viewer ignores never. For a room that stayed in the response, the receipts written after the
previous `pos` (up to `upto`); for a room entering it (every room on a first request), its
current receipts: the latest of each user, type and thread. MSC3960 narrows an initial room to
the receipts on its timeline events and the viewer's own; this extension does not see the
timeline, and sends all of the room's current receipts instead (a superset, as /sync does).
Only rooms the viewer is joined to carry receipts, as in /sync: never an invited room's.
Receipts written after `upto` wait for the next response, so none is sent twice or skipped.
When /sync's probe of the window (`news`) found no receipt at all and no room entered, the
answer is None without looking at the rooms (the probe's False is exact: sync_probe.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bastion.services.sliding_sync.extensions.base import ExtensionContext, ExtensionResult
from bastion.services.sliding_sync.extensions.requests import (
    RoomSelection,
    ScopedRequest,
    joined_among,
    parse_request,
    select_rooms,
)
from bastion.services.sync.ephemeral import EphemeralStreams
from bastion.store.protocols import MembershipStore
from bastion.store.records import ReceiptRecord


class ReceiptsExtension:
    """Receipts of the selected rooms: new ones, or all current ones for rooms entering."""

    name = "receipts"

    def __init__(self, ephemeral: EphemeralStreams, memberships: MembershipStore) -> None:
        self._ephemeral = ephemeral
        self._memberships = memberships

    async def build(
        self, context: ExtensionContext, request: Mapping[str, Any]
    ) -> ExtensionResult | None:
        """`{rooms: {room_id: m.receipt event}}`, or None when there is none to send."""
        selection = select_rooms(context, parse_request(self.name, request, ScopedRequest))
        quiet = context.news is not None and not context.news.receipts
        if quiet and not selection.entered:
            return None  # no receipt in the window, no room needing its current receipts
        viewer = context.requester.user_id
        receipts = await self._entering(viewer, selection, context.upto)
        if context.since is not None and not quiet and selection.staying:
            changed = await self._ephemeral.receipts.receipts_changed(
                self._ephemeral.db, viewer, after=context.since, upto=context.upto
            )
            receipts += [r for r in changed if r.room_id in selection.staying]
        if not receipts:
            return None
        ignored = await self._ephemeral.ignored.ignored_by(viewer)
        events = self._ephemeral.receipt_events(receipts, viewer, ignored)
        if not events:
            return None
        return ExtensionResult({"rooms": events}, news=True)

    async def _entering(
        self, viewer: str, selection: RoomSelection, upto: int
    ) -> list[ReceiptRecord]:
        """The current receipts (as of `upto`) of the entering rooms the viewer is joined to."""
        db = self._ephemeral.db
        joined = await joined_among(db, self._memberships, viewer, selection.entered)
        if not joined:
            return []
        current = await self._ephemeral.receipts.receipts_in_rooms(db, sorted(joined))
        return [r for r in current if r.stream_id <= upto]
