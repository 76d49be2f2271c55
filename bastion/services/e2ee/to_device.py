"""To-device messages (spec: client-server-api#send-to-device-messaging).

Each message is stored per recipient device with a stream position and delivered in that
device's /sync; it is deleted once the device syncs from a token past it, which proves receipt.
Sends are idempotent per (sender device, endpoint, txn_id). Messages for other servers are
dropped (no federation yet).
"""

from __future__ import annotations

from typing import Any

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.ids import UserID
from bastion.json_types import JsonObject
from bastion.pubsub.base import Bus
from bastion.pubsub.messages import EventsPersisted
from bastion.services.principal import Requester
from bastion.store.database import Database, Queryable
from bastion.store.protocols import DeviceStore, ToDeviceStore
from bastion.store.records import SendTxn
from bastion.store.stream import PositionAllocator

MAX_DELIVERED_PER_SYNC = 100
MAX_RECIPIENT_DEVICES = 10_000


class ToDeviceService:
    """Sending and delivering to-device messages."""

    def __init__(
        self,
        db: Database,
        store: ToDeviceStore,
        devices: DeviceStore,
        positions: PositionAllocator,
        bus: Bus,
        *,
        clock: Clock,
        server_name: str,
    ) -> None:
        self._db = db
        self._store = store
        self._devices = devices
        self._positions = positions
        self._bus = bus
        self._clock = clock
        self._server_name = server_name

    async def send(
        self, requester: Requester, event_type: str, txn_id: str, messages: object
    ) -> None:
        """`PUT /sendToDevice/{eventType}/{txnId}`."""
        if not isinstance(messages, dict):
            raise MatrixError(400, Errcode.BAD_JSON, "messages must map user IDs to devices")
        # spec: a transaction ID is scoped to one device and one endpoint (the event type is in
        # the path), so the same ID with another event type is a new send.
        txn = SendTxn(requester.user_id, requester.device_id, f"sendToDevice/{event_type}", txn_id)
        targets = await self._targets(messages)
        with self._positions.allocate(len(targets)) as positions:
            async with self._db.transaction() as t:
                fresh = await self._store.remember_txn(t, txn, self._clock.now_ms())
                if not fresh:
                    return
                rows = [
                    (position, user_id, device_id, requester.user_id, event_type, content)
                    for position, (user_id, device_id, content) in zip(
                        positions, targets, strict=True
                    )
                ]
                await self._store.insert_messages(t, rows)
        if positions:
            users = frozenset(user_id for user_id, _, _ in targets)
            self._bus.publish(EventsPersisted(positions[-1], users))

    async def _targets(self, messages: dict[str, Any]) -> list[tuple[str, str, JsonObject]]:
        targets: list[tuple[str, str, JsonObject]] = []
        for user_id, by_device in messages.items():
            if not isinstance(by_device, dict):
                raise MatrixError(400, Errcode.BAD_JSON, "each user maps device IDs to content")
            if UserID.parse(user_id).server_name != self._server_name:
                continue
            known = {d.device_id for d in await self._devices.list_devices(self._db, user_id)}
            for device_id, content in by_device.items():
                if not isinstance(content, dict):
                    raise MatrixError(400, Errcode.BAD_JSON, "message content must be an object")
                chosen = (
                    sorted(known) if device_id == "*" else [device_id] if device_id in known else []
                )
                targets += [(user_id, d, content) for d in chosen]
        if len(targets) > MAX_RECIPIENT_DEVICES:
            raise MatrixError(400, Errcode.LIMIT_EXCEEDED, "too many recipient devices")
        return targets

    async def deliver(
        self,
        q: Queryable,
        requester: Requester,
        *,
        acknowledged: int,
        upto: int,
        limit: int = MAX_DELIVERED_PER_SYNC,
    ) -> tuple[list[JsonObject], int]:
        """Drop what the device acknowledged; return (pending messages, position reached).

        At most `limit` messages (never more than MAX_DELIVERED_PER_SYNC). The position
        reached is `upto` unless the batch was cut short, in which case it is the last message
        delivered (or `acknowledged`, when `limit` is 0), so the rest come in the next sync.
        """
        user_id, device_id = requester.user_id, requester.device_id
        limit = min(limit, MAX_DELIVERED_PER_SYNC)
        fetch = max(limit, 1)  # one row, even for a limit of 0, tells whether to delete
        pending = await self._store.pending(q, user_id, device_id, upto=upto, limit=fetch)
        if pending and pending[0][0] <= acknowledged:
            # Only when the device confirmed earlier messages is there anything to delete;
            # usually the inbox is empty and this costs no write at all.
            async with self._db.transaction() as t:
                await self._store.delete_delivered(t, user_id, device_id, acknowledged)
            pending = await self._store.pending(q, user_id, device_id, upto=upto, limit=fetch)
        pending = pending[:limit]
        if len(pending) < limit:
            reached = upto  # everything up to `upto` was sent
        elif pending:
            reached = pending[-1][0]
        else:  # a limit of 0: nothing sent, nothing reached past what was acknowledged
            reached = acknowledged
        return [event for _, event in pending], reached
