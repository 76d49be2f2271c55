"""Read receipts and read markers (spec: client-server-api#receipts, #fully-read-markers).

`m.read` receipts are shared with the room; `m.read.private` ones reach only their owner.
`m.fully_read` is the read marker, kept as room account data. Each receipt takes a stream
position and wakes the room's members (or only its owner, when private); in the same
transaction it marks the notifications it passes as read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.events.model import StoredEvent
from bastion.json_types import JsonObject
from bastion.pubsub.base import Bus
from bastion.pubsub.messages import EventsPersisted
from bastion.services.account_data import AccountDataService
from bastion.services.members_cache import RoomMembersCache
from bastion.services.principal import Requester
from bastion.services.push.notifications import NotificationService
from bastion.services.relations.thread_of import thread_of
from bastion.services.visibility import VisibilityService
from bastion.store.database import Database
from bastion.store.protocols import ReceiptStore, RelationStore
from bastion.store.records import ReceiptRecord
from bastion.store.stream import PositionAllocator

RECEIPT_TYPES = ("m.read", "m.read.private")
FULLY_READ = "m.fully_read"


@dataclass(frozen=True, slots=True)
class ReceiptStores:
    """Where receipts go, and the relations that place their events in threads (the events
    themselves are read through the visibility door)."""

    receipts: ReceiptStore
    relations: RelationStore


@dataclass(frozen=True, slots=True)
class ReadTrackers:
    """What else moves when a user reads: the read marker (account data) and their
    notifications."""

    account_data: AccountDataService
    notifications: NotificationService


class ReceiptService:
    """Stores receipts and builds the m.receipt events /sync carries."""

    def __init__(
        self,
        db: Database,
        stores: ReceiptStores,
        *,
        visibility: VisibilityService,
        reads: ReadTrackers,
        members: RoomMembersCache,
        positions: PositionAllocator,
        bus: Bus,
        clock: Clock,
    ) -> None:
        self._db = db
        self._store = stores.receipts
        self._relations = stores.relations
        self._visibility = visibility
        self._account_data = reads.account_data
        self._notifications = reads.notifications
        self._members = members
        self._positions = positions
        self._bus = bus
        self._clock = clock

    async def send_receipt(
        self,
        requester: Requester,
        room_id: str,
        receipt_type: str,
        event_id: str,
        thread_id: str | None,
    ) -> None:
        """`POST /rooms/{roomId}/receipt/{receiptType}/{eventId}`.

        Raises:
            MatrixError: 400 M_INVALID_PARAM for an unknown receipt type, an empty `thread_id`,
                a `thread_id` on a read marker, or an event that is not in the named thread.
        """
        if thread_id is not None and (not thread_id or receipt_type == FULLY_READ):
            raise MatrixError(
                400, Errcode.INVALID_PARAM, "thread_id must be a non-empty string on a receipt"
            )
        if receipt_type == FULLY_READ:
            await self._set_fully_read(requester, room_id, event_id)
            return
        if receipt_type not in RECEIPT_TYPES:
            raise MatrixError(400, Errcode.INVALID_PARAM, f"unknown receipt type {receipt_type!r}")
        event = await self._require_readable_event(requester, room_id, event_id)
        if thread_id is not None:
            await self._require_in_thread(event, thread_id)
        with self._positions.allocate() as [position]:
            receipt = ReceiptRecord(
                room_id,
                receipt_type,
                requester.user_id,
                thread_id or "",
                event_id,
                self._clock.now_ms(),
                position,
            )
            async with self._db.transaction() as t:
                await self._store.put_receipt(t, receipt)
                await self._notifications.mark_read(
                    t, requester.user_id, room_id, upto=event.stream_ordering,
                    receipt_thread=receipt.thread_id,
                )  # fmt: skip
        watchers = (
            {requester.user_id}
            if receipt_type == "m.read.private"
            else await self._members.joined(room_id)
        )
        self._bus.publish(EventsPersisted(position, frozenset(watchers)))

    async def set_read_markers(self, requester: Requester, room_id: str, body: JsonObject) -> None:
        """`POST /rooms/{roomId}/read_markers`."""
        for key in (FULLY_READ, *RECEIPT_TYPES):
            event_id = body.get(key)
            if event_id is None:
                continue
            if not isinstance(event_id, str):
                raise MatrixError(400, Errcode.BAD_JSON, f"{key} must be an event ID")
            await self.send_receipt(requester, room_id, key, event_id, None)

    async def _set_fully_read(self, requester: Requester, room_id: str, event_id: str) -> None:
        await self._require_readable_event(requester, room_id, event_id)
        await self._account_data.put_server_managed(
            requester.user_id, room_id, FULLY_READ, {"event_id": event_id}
        )

    async def _require_in_thread(self, event: StoredEvent, thread_id: str) -> None:
        """A threaded receipt must point into its thread (a thread's root counts as in it)."""
        if event.event_id == thread_id:
            return
        if await thread_of(self._db, self._relations, event) != thread_id:
            raise MatrixError(
                400, Errcode.INVALID_PARAM, f"{event.event_id} is not in thread {thread_id}"
            )

    async def _require_readable_event(
        self, requester: Requester, room_id: str, event_id: str
    ) -> StoredEvent:
        if requester.user_id not in await self._members.joined(room_id):
            raise MatrixError(403, Errcode.FORBIDDEN, "you are not in this room")
        return await self._visibility.visible_event(requester.user_id, room_id, event_id)


def receipt_events(
    receipts: list[ReceiptRecord], sees_private_of: Callable[[str], bool]
) -> dict[str, JsonObject]:
    """room_id -> the m.receipt event of `receipts` for a reader who sees the private receipts
    of the users `sees_private_of` accepts (a user: their own; an application service: its
    users')."""
    by_room: dict[str, JsonObject] = {}
    for r in receipts:
        if r.receipt_type == "m.read.private" and not sees_private_of(r.user_id):
            continue
        entry: JsonObject = {"ts": r.ts}
        if r.thread_id:
            entry["thread_id"] = r.thread_id
        content = by_room.setdefault(r.room_id, {"type": "m.receipt", "content": {}})["content"]
        content.setdefault(r.event_id, {}).setdefault(r.receipt_type, {})[r.user_id] = entry
    return by_room
