"""The bus between processes: each message is delivered in its own process at once (exactly as
`MemoryBus` does) and published on one Redis channel, from which every other process delivers
it to its own subscribers.

What must stay true (base.py's invariants, across processes):
- Local first. `publish` hands the message to this process's subscribers before returning and
  queues it for Redis; it never waits for Redis and never raises. A process ignores its own
  messages when Redis echoes them (each bus has a random `origin`), so nobody gets one twice.
- Order per publisher. One sender task drains one FIFO queue over one connection, and Redis
  delivers a channel's messages to each subscriber in the order it received them, so the
  messages of one process reach every other process in publication order.
- Redis carries wake-ups, never data. Events, receipts and account data are in the database;
  a message only says "look again". Losing one therefore delays a reader (until its long-poll
  times out, or the next re-check) and a duplicate costs one extra read; neither loses or
  repeats an event.
- Outages degrade, never fail. While Redis cannot be reached, local delivery goes on,
  published messages wait in a bounded queue (the oldest dropped past `queue_limit`, logged and
  counted), and the bus delivers a local `DeliveryGap` every `recheck_interval_s`: parked syncs
  wake and re-read the database, caches drop their entries. The connection is retried with
  exponential backoff; once back, the queue is flushed and one more `DeliveryGap` (and another
  a re-check interval later, for syncs that were building at that moment) covers whatever the
  other processes published meanwhile.
- `publish_confirmed` returns once Redis has accepted the message (or at once, with a warning,
  while Redis is down: the other processes are then re-checking by themselves).

- Small messages. A room event concerning more than `FEW_USERS` users crosses as its room ID
  (`RoomEventPersisted`, messages.py); the receiving bus adds the room's joined members from
  its members cache (`find_members_with`) and only then hands an ordinary `EventsPersisted` to
  its subscribers, which stay synchronous: so pubsub/wakeups.py's invariant (no wake-up between
  a sync's check and its wait) is untouched. A cached room is expanded at once; otherwise the
  message, and every message received after it, waits in an inbox drained in order by one task
  (a member event's `CacheInvalidated` therefore always lands before the lookup for the events
  that follow it). A lookup that fails, or a bus with no members cache, delivers a
  `DeliveryGap` instead: every sync re-reads the database, nothing is lost.

Wire format: msgpack of `[origin, message type name, message]` (msgspec; frozensets travel as
arrays). A frame that does not decode is logged and skipped.

`state()` is what /metrics and /ready read (`RedisState`); `ping()` asks Redis directly.

- Closed means closed. Besides the bus's own loops, everything that talks to Redis through
  the bus's connection pool (the typing serials, rate-limit buckets and /ready's PING) does so
  through `command`. `close` first refuses new commands (and reports the bus disconnected, so
  redis_shared.py stops sending), then cancels the loops and the commands still running and
  waits until each has ended, and only then closes the pool: no connection is opened after the
  pool closed, so none is left open, whether the close comes after an outage, during a
  reconnection or while commands are in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Set
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import msgspec
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from bastion.pubsub.base import M
from bastion.pubsub.memory import MemoryBus
from bastion.pubsub.messages import (
    SHARED_MESSAGES,
    DeliveryGap,
    EventsPersisted,
    Message,
    RoomEventPersisted,
    WireMessage,
    on_the_wire,
)

_log = logging.getLogger(__name__)

CHANNEL = "bastion:bus"
_BATCH = 200  # messages per pipelined round trip
_ERRORS = (RedisError, OSError, TimeoutError)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RedisState:
    """The bus's link to Redis, for /metrics and /ready."""

    connected: bool  # subscribed to the channel now
    reconnects: int  # times the subscription came back after being lost
    queued: int  # messages waiting to be sent
    dropped: int  # messages dropped because the queue was full
    last_error: str  # the latest connection error ("" if none yet)


class JoinedMembers(Protocol):
    """Who is joined to a room, as this process's members cache knows it."""

    def cached(self, room_id: str) -> Set[str] | None:
        """The members if cached now, without waiting (None: not cached)."""
        ...

    async def joined(self, room_id: str) -> Set[str]: ...


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnection delays: `first_s`, doubling up to `max_s`."""

    first_s: float = 0.05
    max_s: float = 5.0


def redis_client(url: str) -> aioredis.Redis:
    """A client that fails fast (no hidden retries): the bus decides when to try again."""
    return aioredis.Redis.from_url(
        url,
        socket_connect_timeout=2.0,
        socket_timeout=5.0,
        health_check_interval=5,
        retry=Retry(NoBackoff(), 0),
    )


_FRAME = msgspec.msgpack.Encoder()
_HEADER = msgspec.msgpack.Decoder(tuple[str, str, msgspec.Raw])


def encode_frame(origin: str, message: Message) -> bytes:
    """`message` in the form it crosses in (`on_the_wire`: a big room's event is short)."""
    wire = on_the_wire(message)
    return _FRAME.encode((origin, type(wire).__name__, wire))


def decode_frame(frame: bytes) -> tuple[str, WireMessage]:
    """(origin, message); ValueError for a frame this version does not understand."""
    try:
        origin, kind, body = _HEADER.decode(frame)
        message_type = SHARED_MESSAGES[kind]
        message: WireMessage = msgspec.msgpack.decode(body, type=message_type)
    except (msgspec.DecodeError, KeyError) as exc:
        raise ValueError(f"undecodable bus frame: {exc}") from None
    return origin, message


class RedisBus:
    """A `Bus` shared by every process connected to one Redis (`start` it, `close` it)."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        channel: str = CHANNEL,
        queue_limit: int = 10_000,
        recheck_interval_s: float = 2.0,
        confirm_timeout_s: float = 5.0,
        backoff: Backoff = Backoff(),
    ) -> None:
        self.origin = secrets.token_hex(8)
        self._client = client
        self._channel = channel
        self._local = MemoryBus()
        self._queue_limit = queue_limit
        self._recheck_s = recheck_interval_s
        self._confirm_s = confirm_timeout_s
        self._backoff = backoff
        self._outbox: deque[tuple[bytes, asyncio.Future[None] | None]] = deque()
        self._pending = asyncio.Event()  # set when the outbox has something
        self._connected = asyncio.Event()
        self._ever_connected = False
        self._reconnects = 0
        self._dropped = 0
        self._last_error = ""
        self._tasks: list[asyncio.Task[None]] = []
        self._recheck: asyncio.Task[None] | None = None
        self._late_gap: asyncio.TimerHandle | None = None
        self._closing = False
        self._members: JoinedMembers | None = None
        self._inbox: deque[WireMessage] = deque()  # received, waiting for a member lookup
        self._inbox_task: asyncio.Task[None] | None = None
        self._commands: set[asyncio.Task[Any]] = set()  # running `command`s

    # -- commands on the connection pool (redis_shared.py, /ready) -------------------------

    async def command(self, call: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
        """`call(client)` on the bus's connection pool, as a command `close` waits for.

        Raises:
            redis.exceptions.ConnectionError: the bus is closing (or closed while it ran).
        """
        if self._closing:
            raise RedisConnectionError("the Redis bus is closed")

        async def run() -> T:
            return await call(self._client)

        task = asyncio.create_task(run(), name="redis-bus-command")
        self._commands.add(task)
        task.add_done_callback(self._commands.discard)
        try:
            return await task
        except asyncio.CancelledError:
            caller = asyncio.current_task()
            if caller is not None and caller.cancelling():
                raise  # our caller is being cancelled (and `task` with it)
            raise RedisConnectionError("the Redis bus closed during the command") from None

    def register_script(self, source: str) -> AsyncScript:
        """A Lua script (no I/O); run it with `command(lambda c: script(keys, args, client=c))`."""
        return self._client.register_script(source)

    # -- the Bus protocol ---------------------------------------------------------------

    def publish(self, message: Message) -> None:
        self._local.publish(message)
        if type(message).__name__ in SHARED_MESSAGES:
            self._enqueue(encode_frame(self.origin, message), None)

    async def publish_confirmed(self, message: Message) -> None:
        self._local.publish(message)
        if not self._connected.is_set():
            _log.warning("Redis unreachable: %r queued; other processes re-check", message)
            self._enqueue(encode_frame(self.origin, message), None)
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._enqueue(encode_frame(self.origin, message), done)
        try:
            await asyncio.wait_for(asyncio.shield(done), self._confirm_s)
        except TimeoutError:
            _log.warning("Redis did not confirm %r in time; other processes re-check", message)

    def subscribe(self, message_type: type[M], handler: Callable[[M], None]) -> None:
        self._local.subscribe(message_type, handler)

    def find_members_with(self, members: JoinedMembers) -> None:
        """Where received room events find their room's members (wired once, at start)."""
        self._members = members

    # -- life cycle and state -----------------------------------------------------------

    def start(self) -> None:
        """Start the subscriber and the sender (on the running event loop)."""
        self._tasks = [
            asyncio.create_task(self._subscribe_loop(), name="redis-bus-subscriber"),
            asyncio.create_task(self._send_loop(), name="redis-bus-sender"),
        ]
        self._start_rechecks()  # until the first subscription succeeds

    async def wait_connected(self, timeout_s: float) -> bool:
        """True once subscribed (start-up, tests); False if `timeout_s` passed first."""
        try:
            await asyncio.wait_for(self._connected.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Stop the tasks and the commands (messages still queued are dropped), then close the
        connections: nothing runs on the pool any more when it closes (the module's invariant)."""
        self._closing = True  # from here `command` refuses
        self._connected.clear()  # and redis_shared.py sends nothing new
        if self._late_gap is not None:
            self._late_gap.cancel()
        extra = [task for task in (self._recheck, self._inbox_task) if task is not None]
        tasks = [*self._tasks, *extra]
        self._recheck = self._inbox_task = None
        await _cancel_until_ended([*tasks, *self._commands])
        for task in tasks:  # a command's outcome is its caller's
            with contextlib.suppress(asyncio.CancelledError, *_ERRORS):
                task.result()
        for _, done in self._outbox:
            if done is not None and not done.done():
                done.set_result(None)
        self._outbox.clear()
        await self._client.aclose()

    def state(self) -> RedisState:
        return RedisState(
            connected=self._connected.is_set(),
            reconnects=self._reconnects,
            queued=len(self._outbox),
            dropped=self._dropped,
            last_error=self._last_error,
        )

    async def ping(self) -> None:
        """PING through the pool (/ready, which bounds it); raises what the client raised."""
        await self.command(_ping)

    # -- sending ------------------------------------------------------------------------

    def _enqueue(self, frame: bytes, done: asyncio.Future[None] | None) -> None:
        if len(self._outbox) >= self._queue_limit:
            _, lost = self._outbox.popleft()
            if lost is not None and not lost.done():
                lost.set_result(None)
            self._dropped += 1
            if self._dropped == 1 or self._dropped % 1000 == 0:
                _log.warning("Redis bus queue full: %d messages dropped so far", self._dropped)
        self._outbox.append((frame, done))
        self._pending.set()

    async def _send_loop(self) -> None:
        delay = self._backoff.first_s
        while not self._closing:
            await self._pending.wait()
            self._pending.clear()
            while self._outbox and not self._closing:
                batch = [self._outbox[i] for i in range(min(_BATCH, len(self._outbox)))]
                try:
                    async with self._client.pipeline(transaction=False) as pipe:
                        for frame, _ in batch:  # queued in the pipeline, sent by execute()
                            _queued = pipe.publish(self._channel, frame)
                        await pipe.execute()
                except _ERRORS as exc:
                    self._note_error(exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self._backoff.max_s)
                    continue
                delay = self._backoff.first_s
                for _ in batch:  # sent: only now leave the queue (a failed batch is resent)
                    _, done = self._outbox.popleft()
                    if done is not None and not done.done():
                        done.set_result(None)

    # -- receiving ----------------------------------------------------------------------

    async def _subscribe_loop(self) -> None:
        delay = self._backoff.first_s
        while not self._closing:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._on_connected()
                delay = self._backoff.first_s
                while True:
                    frame = await pubsub.get_message(timeout=1.0)
                    if frame is not None:
                        self._receive(frame["data"])
            except _ERRORS as exc:
                if self._closing:
                    return
                self._note_error(exc)
                self._on_disconnected()
            finally:
                with contextlib.suppress(*_ERRORS):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff.max_s)

    def _receive(self, frame: Any) -> None:
        try:
            origin, message = decode_frame(frame)
        except (ValueError, TypeError) as exc:
            _log.warning("skipping a bus message: %s", exc)
            return
        if origin == self.origin:  # our own were delivered when published
            return
        if not self._inbox:
            ready = self._expanded_now(message)
            if ready is not None:
                self._local.publish(ready)
                return
        self._inbox.append(message)  # behind a lookup: keep the publishers' order
        if self._inbox_task is None or self._inbox_task.done():
            self._inbox_task = asyncio.create_task(self._drain_inbox(), name="redis-bus-inbox")

    def _expanded_now(self, message: WireMessage) -> Message | None:
        """`message` for the subscribers, or None if its room's members must be read first."""
        if not isinstance(message, RoomEventPersisted):
            return message
        members = None if self._members is None else self._members.cached(message.room_id)
        return None if members is None else _with_members(message, members)

    async def _drain_inbox(self) -> None:
        while self._inbox:
            message = self._inbox[0]
            ready = self._expanded_now(message)
            if ready is None:
                ready = await self._expanded(message)
            self._inbox.popleft()  # only now: what arrived meanwhile queued behind it
            self._local.publish(ready)

    async def _expanded(self, message: WireMessage) -> Message:
        if not isinstance(message, RoomEventPersisted):
            return message
        if self._members is None:
            _log.warning("no members cache to expand %r; re-checking everything", message)
            return DeliveryGap("room members unknown")
        try:
            return _with_members(message, await self._members.joined(message.room_id))
        except Exception:  # the database: whoever waits re-reads it, nothing is lost
            _log.exception("reading the members of %s failed; re-checking", message.room_id)
            return DeliveryGap("room members unknown")

    def _note_error(self, exc: BaseException) -> None:
        self._last_error = f"{type(exc).__name__}: {exc}"

    def _on_connected(self) -> None:
        if self._closing:  # subscribed as close() began: it is stopping this loop
            return
        if self._ever_connected:
            self._reconnects += 1
            _log.info("Redis bus reconnected (%d reconnects so far)", self._reconnects)
        self._ever_connected = True
        self._connected.set()
        self._stop_rechecks()
        # Whatever the others published while we could not hear them: look again now, and
        # once more a re-check interval later for readers that were mid-build just now.
        self._local.publish(DeliveryGap("redis connected"))
        loop = asyncio.get_running_loop()
        self._late_gap = loop.call_later(self._recheck_s, self._gap_after_reconnect)
        self._pending.set()  # flush what waited

    def _gap_after_reconnect(self) -> None:
        if not self._closing:
            self._local.publish(DeliveryGap("redis connected, re-check"))

    def _on_disconnected(self) -> None:
        if self._connected.is_set():
            _log.warning("Redis bus disconnected (%s); re-checking locally", self._last_error)
        self._connected.clear()
        self._start_rechecks()

    def _start_rechecks(self) -> None:
        if self._recheck is None and not self._closing:
            self._recheck = asyncio.create_task(self._recheck_loop(), name="redis-bus-recheck")

    def _stop_rechecks(self) -> None:
        if self._recheck is not None:
            self._recheck.cancel()
            self._recheck = None

    async def _recheck_loop(self) -> None:
        """While Redis is unreachable, parked syncs re-read the database every few seconds."""
        while True:
            await asyncio.sleep(self._recheck_s)
            self._local.publish(DeliveryGap("redis unreachable"))


async def _cancel_until_ended(tasks: list[asyncio.Task[Any]]) -> None:
    """The client may turn a cancellation inside a read into a connection error, which the
    loops catch: cancel again until each task has ended (the loops see `_closing`)."""
    for task in tasks:
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.5)


async def _ping(client: aioredis.Redis) -> None:
    await client.ping()


def _with_members(message: RoomEventPersisted, members: Set[str]) -> EventsPersisted:
    return EventsPersisted(
        message.position, frozenset(members) | message.named, message.room_id, message.named
    )
