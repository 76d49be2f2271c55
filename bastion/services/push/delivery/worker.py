"""The HTTP pusher worker: sends each pusher the notifications push rules gave its user.

Where the work comes from. Nothing is queued: the push recorder already stores, in each event's
transaction, what the rules gave every member (generic outcomes plus the rows of members who
differ, migrations/0009). A pusher keeps `last_stream_ordering`, the position delivery got to;
its pending notifications are the user's notifying events after it (`PusherStore.pending`,
read up to `persisted_upto()` so an event committing late is never skipped). This costs no row
per (user, event) and no second evaluation of the rules, and it makes restarts safe: progress is
written after each successful request, so a restart resumes after the last event the gateway
accepted. A crash between the gateway's answer and that write can repeat one notification, which
the gateway suppresses by `event_id` (spec); nothing is lost.

When it runs. A bus subscription tells the worker, after commit, which users an event
concerns (wakeup.py); users without pushers are ignored in memory. Each user's delivery is one
task, so one user's slow gateway never delays anybody else; a user's pushers run concurrently.
At start every user with a pusher is checked once (work left by the previous run).

Failures. A 5xx, 429, timeout or refused connection keeps the pusher on that notification and
retries it with exponential backoff (1 s doubling to 1 h); after `give_up_after_seconds` of
failing (`failing_since`, stored, so it survives restarts) the notification is skipped. Another
status (4xx) skips the notification at once. Pushkeys the gateway lists as `rejected` lose their
pushers. A pusher whose URL the allowlist no longer accepts sends nothing and skips what arrives
meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from dataclasses import dataclass

import msgspec

from bastion.clock import Clock
from bastion.events.model import StoredEvent
from bastion.events.types import EventType
from bastion.services.push.delivery.gateway import GatewayClient, Outcome
from bastion.services.push.delivery.payload import RoomLabels, notify_body
from bastion.services.push.delivery.wakeup import PushWakeups
from bastion.services.push.notifications import NotificationService
from bastion.store.database import Database
from bastion.store.protocols import EventStore, MembershipStore, StateStore
from bastion.store.protocols.pushers import PendingPush, PusherRecord, PusherStore
from bastion.store.stream import PositionAllocator

log = logging.getLogger(__name__)

BATCH = 50
INITIAL_BACKOFF_MS = 1_000
MAX_BACKOFF_MS = 3_600_000
# After an unexpected error (the database, a bug) a user's delivery is tried again this late.
ERROR_RETRY_MS = 10_000

PusherKey = tuple[str, str, str]  # (user_id, app_id, pushkey)


@dataclass(frozen=True, slots=True)
class DeliveryStores:
    """What the worker reads and writes."""

    pushers: PusherStore
    events: EventStore
    state: StateStore
    memberships: MembershipStore


@dataclass(slots=True)
class _Backoff:
    attempts: int
    next_ms: int


class PushDelivery:
    """Delivers pending notifications to every pusher; `workers/push_delivery.py` runs it in the
    background (`dispatch`, `wait_for_work`, `stop`), `run_due` runs one pass and waits for it
    (tests drive it with a FakeClock)."""

    def __init__(
        self,
        db: Database,
        stores: DeliveryStores,
        gateway: GatewayClient,
        wakeups: PushWakeups,
        *,
        positions: PositionAllocator,
        notifications: NotificationService,
        clock: Clock,
        give_up_after_ms: int,
    ) -> None:
        self._db = db
        self._stores = stores
        self._gateway = gateway
        self._wakeups = wakeups
        self._positions = positions
        self._notifications = notifications
        self._clock = clock
        self._give_up_after_ms = give_up_after_ms
        self._retry_at: dict[str, int] = {}
        self._backoff: dict[PusherKey, _Backoff] = {}
        self._running: dict[str, asyncio.Task[None]] = {}

    # -- running -----------------------------------------------------------------------------

    async def stop(self) -> None:
        """Stop every delivery in progress and close the HTTP client."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._gateway.close()

    async def run_due(self) -> None:
        """Start delivery for every user due now and wait for it to finish."""
        await self._load_users()
        started = self._start_due()
        if started:
            await asyncio.gather(*started)

    async def dispatch(self) -> None:
        """Start delivery for every user due now, without waiting for it (the worker's step)."""
        self._wakeups.event.clear()
        await self._load_users()
        self._start_due()

    async def wait_for_work(self) -> None:
        """Return on a wake-up, a finished delivery, or the next retry time (on the clock)."""
        waits = [at for u, at in self._retry_at.items() if u not in self._running]
        waiting: set[asyncio.Future[object]] = {asyncio.ensure_future(self._wakeups.event.wait())}
        if waits:
            delay_s = max(min(waits) - self._clock.now_ms(), 0) / 1000
            waiting.add(asyncio.ensure_future(self._clock.sleep(delay_s)))
        try:
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for future in waiting:
                future.cancel()

    async def _load_users(self) -> None:
        if not self._wakeups.is_loaded:
            self._wakeups.load(await self._stores.pushers.users_with_pushers(self._db))

    def _start_due(self) -> list[asyncio.Task[None]]:
        now = self._clock.now_ms()
        due = self._wakeups.take(self._running)
        due |= {u for u, at in self._retry_at.items() if at <= now and u not in self._running}
        started = []
        for user_id in due:
            self._retry_at.pop(user_id, None)
            task = asyncio.get_running_loop().create_task(self._deliver_user(user_id))
            self._running[user_id] = task
            task.add_done_callback(functools.partial(self._finished, user_id))
            started.append(task)
        return started

    def _finished(self, user_id: str, _task: asyncio.Task[None]) -> None:
        self._running.pop(user_id, None)
        self._wakeups.event.set()

    async def _deliver_user(self, user_id: str) -> None:
        try:
            pushers = await self._stores.pushers.pushers_of(self._db, user_id)
        except Exception:
            log.exception("push delivery for %s failed", user_id)
            self._retry_at[user_id] = self._clock.now_ms() + ERROR_RETRY_MS
            return
        if not pushers:
            self._wakeups.forget(user_id)
        keys = {(p.user_id, p.app_id, p.pushkey) for p in pushers}
        for gone in [k for k in self._backoff if k[0] == user_id and k not in keys]:
            del self._backoff[gone]
        results = await asyncio.gather(*(self._deliver(p) for p in pushers), return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                log.error("push delivery for %s failed", user_id, exc_info=result)
                self._retry_at[user_id] = self._clock.now_ms() + ERROR_RETRY_MS
        waits = [b.next_ms for k, b in self._backoff.items() if k[0] == user_id]
        if waits:
            self._retry_at[user_id] = min(waits)

    # -- one pusher --------------------------------------------------------------------------

    async def _deliver(self, pusher: PusherRecord) -> None:
        key = (pusher.user_id, pusher.app_id, pusher.pushkey)
        backoff = self._backoff.get(key)
        if backoff is not None and backoff.next_ms > self._clock.now_ms():
            return
        url = msgspec.json.decode(pusher.data).get("url")
        upto = self._positions.persisted_upto()
        if not isinstance(url, str) or not self._gateway.policy.allows(url):
            # Skipped, not queued: allowing the gateway again must not release a backlog.
            log.warning("pusher %s of %s: gateway %r is not allowed", key[1], key[0], url)
            await self._stores.pushers.set_progress(
                self._db, pusher, position=upto, failing_since=None
            )
            return
        position, failing_since = pusher.last_stream_ordering, pusher.failing_since
        while True:
            batch = await self._stores.pushers.pending(
                self._db, pusher.user_id, after=position, upto=upto, limit=BATCH
            )
            events = await self._stores.events.get_events(self._db, [p.event_id for p in batch])
            for item in batch:
                event = events.get(item.event_id)
                if event is not None and event.redacted_by is None:
                    sent = await self._send(pusher, url, item, event, failing_since)
                    if sent is None:
                        return  # retrying later, or the pusher is gone
                position, failing_since = item.stream_ordering, None
            if len(batch) < BATCH:
                break
        if position > pusher.last_stream_ordering or pusher.failing_since is not None:
            await self._stores.pushers.set_progress(
                self._db, pusher, position=upto, failing_since=None
            )

    async def _send(
        self,
        pusher: PusherRecord,
        url: str,
        item: PendingPush,
        event: StoredEvent,
        failing_since: int | None,
    ) -> bool | None:
        """Send one notification. True: done with it (delivered, refused, or given up);
        None: stop this pusher for now (backing off, or its pushkey was rejected)."""
        key = (pusher.user_id, pusher.app_id, pusher.pushkey)
        body = notify_body(
            pusher, event, msgspec.json.decode(item.actions),
            unread=await self._unread(pusher.user_id), labels=await self._labels(event),
        )  # fmt: skip
        answer = await self._gateway.notify(url, body)
        now = self._clock.now_ms()
        pushers = self._stores.pushers
        if answer.outcome is Outcome.RETRY:
            since = failing_since if failing_since is not None else now
            if now - since < self._give_up_after_ms:
                attempts = self._backoff[key].attempts + 1 if key in self._backoff else 1
                delay = min(INITIAL_BACKOFF_MS * 2 ** (attempts - 1), MAX_BACKOFF_MS)
                self._backoff[key] = _Backoff(attempts, now + delay)
                await pushers.set_progress(
                    self._db, pusher, position=item.stream_ordering - 1, failing_since=since
                )
                return None
            log.warning("pusher %s of %s: gave up on %s", key[1], key[0], item.event_id)
        self._backoff.pop(key, None)
        await pushers.set_progress(
            self._db, pusher, position=item.stream_ordering, failing_since=None
        )
        if answer.rejected:
            await pushers.delete_rejected(self._db, pusher.user_id, pusher.app_id, answer.rejected)
            if pusher.pushkey in answer.rejected:
                log.info("pusher %s of %s: pushkey rejected, pusher removed", key[1], key[0])
                return None
        return True

    async def _unread(self, user_id: str) -> int:
        """Unread notifications across the user's joined rooms (the badge)."""
        rooms = await self._stores.memberships.rooms_of_user(self._db, user_id, ["join"])
        counts = await self._notifications.unread(
            user_id, [r.room_id for r in rooms], by_thread=False
        )
        return sum(int(c["unread_notifications"]["notification_count"]) for c in counts.values())

    async def _labels(self, event: StoredEvent) -> RoomLabels:
        keys = [
            (EventType.NAME, ""),
            (EventType.CANONICAL_ALIAS, ""),
            (EventType.MEMBER, event.sender),
        ]
        state = await self._stores.state.current_events(self._db, event.room_id, keys)
        name = state.get(keys[0])
        alias = state.get(keys[1])
        member = state.get(keys[2])
        return RoomLabels(
            room_name=_string(name.content.get("name")) if name else None,
            room_alias=_string(alias.content.get("alias")) if alias else None,
            sender_display_name=_string(member.content.get("displayname")) if member else None,
        )


def _string(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
