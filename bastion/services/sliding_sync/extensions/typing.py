"""The `typing` extension (MSC3961): m.typing events of the rooms in the response.

`rooms` maps a selected room (its `lists`/`rooms`) to the m.typing event /sync would carry
(`EphemeralStreams.typing_events`: users the viewer ignores left out) when its typers changed
after the previous response's ephemeral serial, or, for a room entering the response (every
room on a first request), when anyone types in it now. Only rooms the viewer is joined to, as in
/sync. Typing lives in memory (services/ephemeral/typing.py): a response costs no query unless
typing changed in one of its rooms (then one, for the viewer's joined rooms). When the typing
serial has not moved since the previous response (`since_ephemeral` is the serial now: no room's
typers changed after it) and no room entered, the answer is None without looking at the rooms.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bastion.services.sliding_sync.extensions.base import ExtensionContext, ExtensionResult
from bastion.services.sliding_sync.extensions.requests import (
    ScopedRequest,
    joined_among,
    parse_request,
    select_rooms,
)
from bastion.services.sync.ephemeral import EphemeralStreams
from bastion.store.protocols import MembershipStore


class TypingExtension:
    """Who types in the selected rooms, when that changed or the room just entered."""

    name = "typing"

    def __init__(self, ephemeral: EphemeralStreams, memberships: MembershipStore) -> None:
        self._ephemeral = ephemeral
        self._memberships = memberships

    async def build(
        self, context: ExtensionContext, request: Mapping[str, Any]
    ) -> ExtensionResult | None:
        """`{rooms: {room_id: m.typing event}}`, or None when no typing to report."""
        selection = select_rooms(context, parse_request(self.name, request, ScopedRequest))
        typing = self._ephemeral.typing
        if context.since_ephemeral == typing.serial and not selection.entered:
            return None  # no typing change since the previous response, no room to introduce
        candidates: set[str] = set()
        if selection.staying:
            since = context.since_ephemeral
            candidates |= typing.rooms_changed_since(since) & selection.staying
        if selection.entered:
            candidates |= typing.rooms_changed_since(None) & selection.entered
        viewer = context.requester.user_id
        joined = await joined_among(self._ephemeral.db, self._memberships, viewer, candidates)
        rooms = sorted(joined)
        if not rooms:
            return None
        ignored = await self._ephemeral.ignored.ignored_by(viewer)
        return ExtensionResult({"rooms": self._ephemeral.typing_events(rooms, ignored)}, news=True)
