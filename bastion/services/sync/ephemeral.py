"""The ephemeral section of /sync's joined rooms (typing, receipts), and the per-room extras
(account data, ephemeral events) a response collects before its room sections are built.

Typing lives in memory (services/ephemeral/typing.py); `fill` only ever reports typing in the
joined rooms it is given, so a caller narrows the server's typing changes to the viewer's rooms
first. Receipts cost one query: the joined rooms' receipts on an initial sync, those written in
the window (in rooms the viewer is joined to) on an incremental one. The events themselves
(`typing_events`, `receipt_events`: ignored users left out, private receipts to their owner)
are also what sliding sync's typing and receipts extensions send.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bastion.events.filters import type_and_sender_match
from bastion.json_types import JsonObject
from bastion.services.ephemeral.receipts import receipt_events
from bastion.services.ephemeral.typing import TypingService
from bastion.services.ignored_users import IgnoredUsers
from bastion.services.presence.service import PresenceService
from bastion.services.sync.request import SyncRequest
from bastion.store.database import Database
from bastion.store.protocols import ReceiptStore
from bastion.store.records import ReceiptRecord


@dataclass(slots=True)
class RoomExtras:
    """Per-room account data and ephemeral events for this response, by room."""

    account_data: dict[str, list[JsonObject]]
    ephemeral: dict[str, list[JsonObject]]
    typing_serial: int = 0
    newly_joined: list[str] = field(default_factory=list)  # rooms joined since the token

    def rooms(self) -> set[str]:
        return set(self.account_data) | set(self.ephemeral)


@dataclass(frozen=True, slots=True)
class EphemeralStreams:
    """Typing and receipts, the ephemeral section of joined rooms; presence, the top-level
    `presence` section."""

    db: Database
    typing: TypingService
    receipts: ReceiptStore
    presence: PresenceService
    ignored: IgnoredUsers

    async def fill(
        self,
        extras: RoomExtras,
        request: SyncRequest,
        joined_ids: list[str],
        *,
        since: tuple[int, int] | None,
        viewer: str,
        receipts: bool = True,
    ) -> None:
        """Typing for the `joined_ids` rooms whose typers changed, receipts new since the token
        (all of the joined rooms' receipts on an initial sync); none from users the viewer
        ignores. In memory except for the receipts query, which `receipts=False` (the caller
        knows there are none in the window) leaves out."""
        wanted = request.filter.room.ephemeral
        ignored = await self.ignored.ignored_by(viewer)
        extras.typing_serial = self.typing.serial
        rooms = self.typing_rooms(request, incremental=since is not None) & set(joined_ids)
        if type_and_sender_match(wanted, "m.typing", None):
            for room_id, event in self.typing_events(rooms, ignored).items():
                extras.ephemeral.setdefault(room_id, []).append(event)
        if not receipts or not type_and_sender_match(wanted, "m.receipt", None):
            return
        if since is None:
            records = await self.receipts.receipts_in_rooms(self.db, joined_ids)
        else:
            records = await self.receipts.receipts_changed(
                self.db, viewer, after=since[0], upto=since[1]
            )
        for room_id, event in self.receipt_events(records, viewer, ignored).items():
            extras.ephemeral.setdefault(room_id, []).append(event)

    def typing_events(
        self, room_ids: Iterable[str], ignored: frozenset[str]
    ) -> dict[str, JsonObject]:
        """room_id -> its m.typing event now, without the users the viewer ignores."""
        events: dict[str, JsonObject] = {}
        for room_id in room_ids:
            typers = [u for u in self.typing.typers(room_id) if u not in ignored]
            events[room_id] = {"type": "m.typing", "content": {"user_ids": typers}}
        return events

    @staticmethod
    def receipt_events(
        receipts: list[ReceiptRecord], viewer: str, ignored: frozenset[str]
    ) -> dict[str, JsonObject]:
        """room_id -> the m.receipt event `viewer` may see of `receipts`: none by users they
        ignore, private receipts only their own."""
        kept = [r for r in receipts if r.user_id not in ignored]
        return receipt_events(kept, lambda user_id: user_id == viewer)

    def typing_rooms(self, request: SyncRequest, *, incremental: bool) -> set[str]:
        """Rooms anywhere on the server whose typers changed since the token (in memory)."""
        return self.typing.rooms_changed_since(request.since_typing if incremental else None)
