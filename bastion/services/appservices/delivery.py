"""Pushing events to application services in transactions (spec: application-service-api,
"Pushing events"), durably and in stream order.

One loop per registration with a `url`, each on its own task so one unreachable service never
delays another. Progress is a row per registration (store/protocols/appservices.py):

1. With no transaction pending, it reads the events committed after `done_upto` (up to the
   allocator's `persisted_upto`: nothing below is still being written, so nothing is skipped),
   `SCAN_AT_MOST` at a time, keeps those the service is interested in (interest.py), at most
   `TXN_AT_MOST` of them, and stores them as the pending transaction (their IDs and the
   position they reach) before sending anything. A window with none is passed: in memory,
   and stored in `done_upto` at most every 5 s (only a second look is lost with it).
2. It sends the pending transaction under its `txn_id`; once the service answers 2xx,
   `done_upto` becomes the transaction's end and the next ID is taken, in one statement.
3. A failure (no connection, a timeout, a non-2xx answer) is recorded on the row and retried
   after an exponential back-off (`retry_s`: the first wait, doubling up to the longest),
   with the same ID and the same events: the spec forbids changing a transaction on retry.
   Only each event's `unsigned.age` is new (how old it is when sent again, as Synapse's
   retries say), and an event redacted or expired meanwhile goes as clients now see it.
   A restart, or another process taking the worker's lease, resumes from the row.

A service that receives ephemeral data also gets receipts, typing and presence (ephemeral.py),
stored with the pending transaction like its events; no other service's loop reads them. The
to-device messages of its users' devices and, with MSC3202, device-list changes and key counts
(encryption.py) are carried the same way.

So an event is delivered at least once, in order; a retried transaction has the ID the service
already saw, which is how the spec lets it drop the duplicate. A service registered after
events were sent starts from the stream's position when its row is first made.

Events are sent as clients see them (the formatter: redacted ones pruned), without those the
room's retention has expired meanwhile (a service down for long does not receive what policy
has since removed). Legal holds do not matter here: a hold keeps events in the database, it
does not hide them.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Any

import msgspec

from bastion.clock import Clock
from bastion.events.model import StoredEvent
from bastion.pubsub.messages import EventsPersisted, TypingChanged
from bastion.services.appservices.client import AppServiceClient, Refused, Unreachable
from bastion.services.appservices.encryption import (
    EncryptionCollector,
    ToDevice,
    wants_encryption,
)
from bastion.services.appservices.ephemeral import EphemeralCollector
from bastion.services.appservices.interest import Interest
from bastion.services.appservices.registration import AppServiceRegistration
from bastion.services.appservices.registry import AppServiceRegistry
from bastion.services.formatting.formatter import EventFormatter
from bastion.services.retention.policy import RoomRetention, is_expired
from bastion.store.database import Database
from bastion.store.protocols import EventStore
from bastion.store.protocols.appservices import AppServiceStore, AppServiceStream
from bastion.store.stream import PositionAllocator

log = logging.getLogger(__name__)

SCAN_AT_MOST = 500
TXN_AT_MOST = 100
PASSED_STORED_EVERY_MS = 5_000


class AppServiceDelivery:
    """The transaction loops of every registration (module docstring)."""

    def __init__(
        self,
        db: Database,
        stores: tuple[AppServiceStore, EventStore],
        registry: AppServiceRegistry,
        readers: tuple[Interest, EventFormatter, RoomRetention | None],
        runtime: tuple[PositionAllocator, AppServiceClient, Clock],
        *,
        ephemeral: EphemeralCollector | None = None,
        encryption: EncryptionCollector | None = None,
        retry_s: tuple[float, float] = (1.0, 300.0),
    ) -> None:
        """`readers`: what picks and shapes the events (a retention of None: no expiry);
        `retry_s`: the first and the longest wait before retrying a failed transaction."""
        self._db = db
        self._store, self._events = stores
        self._registry = registry
        self._interest, self._formatter, self._retention = readers
        self._positions, self.client, self._clock = runtime  # the ping shares the client
        self._retry = retry_s
        self._ephemeral = ephemeral
        self._encryption = encryption
        # registration -> (position passed without a transaction, when it was last stored)
        self._passed: dict[str, tuple[int, int]] = {}
        self._woken = {r.id: asyncio.Event() for r in registry.all}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stopped = asyncio.Event()

    def on_persisted(self, message: EventsPersisted) -> None:
        """A room event committed somewhere: every loop looks (the bus delivers it after
        commit, from any process); anything else on the stream (a receipt, a to-device
        message, a device-list change) wakes the loops of the services that receive ephemeral
        or encryption data."""
        for registration in self._registry.all:
            if message.room_id is not None or wants_encryption(registration):
                self._woken[registration.id].set()

    def on_typing(self, _message: TypingChanged) -> None:
        """Someone started or stopped typing: the loops that carry typing look."""
        for registration in self._registry.all:
            if registration.receive_ephemeral:
                self._woken[registration.id].set()

    def dispatch(self) -> None:
        """Start the loop of every registration with a URL that is not running."""
        for registration in self._registry.all:
            task = self._tasks.get(registration.id)
            if registration.url is None or (task is not None and not task.done()):
                continue
            self._tasks[registration.id] = asyncio.create_task(
                self._serve(registration), name=f"appservice {registration.id}"
            )

    async def wait_for_work(self) -> None:
        """The loops run on their own; a dead one is restarted at the next iteration."""
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), timeout=60.0)

    async def stop(self) -> None:
        """Cancel the loops (the rows say where each resumes) and close the HTTP client."""
        self._stopped.set()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self.client.close()

    async def status(self, registration: AppServiceRegistration) -> AppServiceStream | None:
        """The registration's progress row (None before its loop first ran)."""
        return await self._store.get_stream(self._db, registration.id)

    async def _serve(self, registration: AppServiceRegistration) -> None:
        woken = self._woken[registration.id]
        failures = 0
        while True:
            woken.clear()
            try:
                busy = await self.step(registration)
            except (Unreachable, Refused) as exc:
                failures += 1
                low, high = self._retry
                delay = min(high, low * 2 ** min(failures - 1, 30))
                log.warning(
                    "application service %s: transaction failed (%s); retrying in %.1f s",
                    registration.id, exc, delay,
                )  # fmt: skip
                await self._clock.sleep(delay)
                continue
            if failures:
                log.info("application service %s: reachable again", registration.id)
            failures = 0
            if not busy:
                await woken.wait()

    async def step(self, registration: AppServiceRegistration) -> bool:
        """Send (or retry) one transaction, or move past a window of no interest. False when
        there was nothing to do. Unreachable or Refused when the service did not take it."""
        stream = await self._stream(registration.id)
        if stream.pending_upto is None or stream.pending_events is None:
            passed = self._passed.get(registration.id, (0, 0))[0]
            if passed > stream.done_upto:
                stream = msgspec.structs.replace(stream, done_upto=passed)
            pending = await self._next(registration, stream)
            if pending is None:
                return False
            if not (
                pending.pending_events or pending.pending_ephemeral or pending.pending_encryption
            ):
                assert pending.pending_upto is not None  # a window of no interest
                await self._pass(registration.id, pending.pending_upto)
                return True
            stream = pending
        assert stream.pending_upto is not None
        assert stream.pending_events is not None
        events = await self._payload(stream.pending_events)
        ephemeral = stream.pending_ephemeral if registration.receive_ephemeral else None
        extensions = None
        if self._encryption is not None and wants_encryption(registration):
            extensions = await self._encryption.fields(
                registration, stream.pending_encryption, events, ephemeral
            )
        try:
            await self.client.put_transaction(
                registration, stream.txn_id, events, ephemeral, extensions
            )
        except (Unreachable, Refused) as exc:  # the row says why it is behind (status)
            now = self._clock.now_ms()
            await self._store.set_failing(self._db, registration.id, now, str(exc))
            raise
        async with self._db.transaction() as t:
            await self._store.delivered(t, registration.id, stream.pending_upto, stream.txn_id + 1)
            if self._encryption is not None:
                await self._encryption.acknowledged(t, stream.pending_encryption)
        return True

    async def _pass(self, appservice_id: str, upto: int) -> None:
        """Move past a window of no interest: kept here, stored at most every
        `PASSED_STORED_EVERY_MS` (busy rooms the service is not in would otherwise cost a write
        per wake-up). Losing it costs a second look at windows of no interest, nothing else."""
        now = self._clock.now_ms()
        _, stored_at = self._passed.get(appservice_id, (0, 0))
        if now - stored_at >= PASSED_STORED_EVERY_MS:
            await self._store.skip_to(self._db, appservice_id, upto)
            stored_at = now
        self._passed[appservice_id] = (upto, stored_at)

    async def _next(
        self, registration: AppServiceRegistration, stream: AppServiceStream
    ) -> AppServiceStream | None:
        """The next transaction, stored as pending when it carries anything (one with nothing
        only says how far the window of no interest reaches); None when nothing is new."""
        done, upto = stream.done_upto, self._positions.persisted_upto()
        chosen: list[StoredEvent] = []
        scanned: list[StoredEvent] = []
        end = done
        if upto > done:
            scanned = await self._store.stream_events(self._db, done, upto, SCAN_AT_MOST)
            end = scanned[-1].stream_ordering if len(scanned) == SCAN_AT_MOST else upto
            chosen = await self._interest.select(registration, scanned)
            if len(chosen) > TXN_AT_MOST:
                chosen = chosen[:TXN_AT_MOST]
                end = chosen[-1].stream_ordering
        to_device: ToDevice = []
        if self._encryption is not None:  # first: it may move the end back
            to_device, end = await self._encryption.to_device(registration, done, end)
            chosen = [e for e in chosen if e.stream_ordering <= end]
        ephemeral: list[dict[str, Any]] = []
        typing_serial = None
        if registration.receive_ephemeral and self._ephemeral is not None:
            ephemeral, end, typing_serial = await self._ephemeral.collect(registration, done, end)
            chosen = [e for e in chosen if e.stream_ordering <= end]
        encryption = None
        if self._encryption is not None and wants_encryption(registration):
            encryption = await self._encryption.collect(
                registration, (done, end), to_device, scanned
            )
        if end <= done and not ephemeral:
            return None
        ids = [e.event_id for e in chosen]
        if ids or ephemeral or encryption:
            await self._store.set_pending(
                self._db, registration.id, end, (ids, ephemeral), encryption
            )
            if self._ephemeral is not None:
                self._ephemeral.carried(registration, typing_serial)
        return AppServiceStream(
            registration.id, done, stream.txn_id, end, ids, ephemeral, encryption
        )

    async def _stream(self, appservice_id: str) -> AppServiceStream:
        stream = await self._store.get_stream(self._db, appservice_id)
        if stream is None:
            await self._store.start_stream(
                self._db, appservice_id, self._positions.persisted_upto()
            )
            stream = await self._store.get_stream(self._db, appservice_id)
            assert stream is not None
        return stream

    async def _payload(self, event_ids: list[str]) -> list[dict[str, object]]:
        """The pending events as clients see them, in stream order, without those gone
        (purged) or expired by their room's retention since."""
        found = await self._events.get_events(self._db, event_ids)
        events: list[StoredEvent] = []
        cutoffs: dict[str, int | None] = {}
        for event_id in event_ids:
            event = found.get(event_id)
            if event is None:
                continue
            if self._retention is not None:
                if event.room_id not in cutoffs:
                    cutoffs[event.room_id] = await self._retention.expired_before(event.room_id)
                if is_expired(event, cutoffs[event.room_id]):
                    continue
            events.append(event)
        return list(await self._formatter.format(events, None))
