"""Group commit: sends into one room that queue behind each other share one transaction.

Sends into one room are serialised (the pipeline's per-room lock in this process, the room row's
`FOR UPDATE` across processes), so while one send holds the room, the next ones wait. A plain
send (`groupable`: no state key, not a redaction, no `replaces`, no `also`) joins the room's
queue before it waits for the lock. Whoever takes the lock next takes every queued send (its
own included, in arrival order) and writes them in one transaction:
- one statement that locks the room's row and reads its end, the stored txn IDs and the
  current state the auth rules need (the union of the drafts' auth keys: a non-state event
  changes no state, so it holds for every draft of the group; see `RoomStore.open_room` for
  why a snapshot older than the lock cannot slip through);
- each draft authorised and built on the previous one (prev_events a single chain, depth + 1
  each), its position taken under the lock only once it is known to be good (stream order =
  history order, as for a single send);
- the events' rows, their txn IDs and one compare-and-set of the room's end (one statement on
  PostgreSQL: `RoomStore.append_messages`), then `record_group` of every hook with the events
  in order; one commit. A plain send that finds no queue is written the same way, a group of one.

Each caller gets its own answer: a draft the auth rules refuse (403), too large (413) or with bad
JSON values (400) is left out and the others are written; a txn ID already stored returns the
event stored then, and one repeated within the group returns the group's event. Any other error
in the shared transaction (a hook refusing in `record`, a database error) rolls it back, and the
drafts are then sent one by one, each getting its own outcome. After commit, and after the lock
is released, the events are announced in order (members cache, wake-ups, `committed` hooks) and
only then answered; each caller then waits until its event is readable. `check` hooks ran per
draft before the queue (pipeline.send).

Invariant: an item is `taken` by exactly one lock holder, which always settles its future (on
success, refusal or its own cancellation), so no caller waits forever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, ExitStack
from dataclasses import dataclass, field
from typing import Protocol

import msgspec

from bastion.errors import MatrixError
from bastion.events.builder import EventDraft
from bastion.events.canonical import check_json_values
from bastion.events.model import StoredEvent
from bastion.services.rooms.pipeline_parts import Built, RoomMovedError, Written, too_busy
from bastion.store.database import Queryable, Transaction
from bastion.store.protocols.rooms import OpenedRoom, StateKey
from bastion.store.records import RoomRecord, SendTxn
from bastion.store.stream import PositionAllocator

log = logging.getLogger(__name__)

_MAX_ATTEMPTS = 20


class GroupWriter(Protocol):
    """What the group commit needs of the pipeline (services/rooms/pipeline.py)."""

    def room_lock(self, room_id: str) -> asyncio.Lock: ...
    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...
    def position_taker(self, in_flight: ExitStack, floor: int) -> Callable[[int], int]: ...
    async def send_locked(
        self, room_id: str, draft: EventDraft, txn: SendTxn | None
    ) -> Written | StoredEvent: ...
    async def open_room(
        self, t: Queryable, room_id: str, drafts: Sequence[EventDraft], txns: Sequence[SendTxn]
    ) -> OpenedRoom: ...
    def build(
        self,
        room: RoomRecord,
        current: dict[StateKey, StoredEvent],
        draft: EventDraft,
        position: int | Callable[[], int],
        txn: SendTxn | None,
    ) -> Built: ...
    async def write_messages(
        self, t: Queryable, room: RoomRecord, built: Sequence[Built]
    ) -> None: ...
    async def announce(self, written: Sequence[Written]) -> None: ...


@dataclass(eq=False)
class _Queued:
    draft: EventDraft
    txn: SendTxn | None
    answer: asyncio.Future[StoredEvent]
    taken: bool = field(default=False)


@dataclass(frozen=True, slots=True)
class _SameAs:
    """A txn ID repeated within the group: the answer of the group's earlier item."""

    index: int


_Outcome = Written | StoredEvent | BaseException | _SameAs


class SendQueue:
    """Per-room queues of plain sends waiting for the room's lock."""

    def __init__(self, writer: GroupWriter, positions: PositionAllocator) -> None:
        self._writer = writer
        self._positions = positions
        self._pending: dict[str, list[_Queued]] = {}

    def queued(self, room_id: str) -> int:
        """How many sends into the room wait for a lock holder to take them."""
        return len(self._pending.get(room_id, ()))

    async def send(self, room_id: str, draft: EventDraft, txn: SendTxn | None) -> StoredEvent:
        """Write `draft` (already checked by the hooks), alone or with the sends queued with it."""
        item = _Queued(draft, txn, asyncio.get_running_loop().create_future())
        self._pending.setdefault(room_id, []).append(item)
        group: list[_Queued] = []
        try:
            async with self._writer.room_lock(room_id):
                if not item.taken:  # else an earlier holder took it and answers it
                    group = self._pending.pop(room_id, [])
                    for queued in group:
                        queued.taken = True
                    outcomes = await self._write(room_id, group)
            if group:
                await self._answer(group, outcomes)
        except BaseException:
            queue = self._pending.get(room_id, [])
            if not item.taken and item in queue:
                queue.remove(item)
                if not queue:
                    del self._pending[room_id]
            raise
        finally:
            for queued in group:
                if queued is not item and not queued.answer.done():
                    queued.answer.set_exception(too_busy())  # this holder was cancelled
        event = await item.answer
        await self._positions.wait_readable(event.stream_ordering)
        return event

    async def _write(self, room_id: str, group: Sequence[_Queued]) -> list[_Outcome]:
        """The group's outcomes, in its order; the room lock is held. A send alone is a group
        of one (its failure is its own answer)."""
        if len(group) == 1:
            try:
                return await self._write_group(room_id, group)
            except Exception as exc:
                return [exc]
        try:
            return await self._write_group(room_id, group)
        except MatrixError as exc:  # a hook's refusal in `record`: one of them is refused
            log.debug("group of %d sends into %s refused (%s); one by one", len(group),
                      room_id, exc.errcode)  # fmt: skip
        except Exception:
            log.warning("group of %d sends into %s failed; sending one by one", len(group),
                        room_id, exc_info=True)  # fmt: skip
        outcomes: list[_Outcome] = []
        for item in group:
            try:
                outcomes.append(await self._writer.send_locked(room_id, item.draft, item.txn))
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    async def _answer(self, group: Sequence[_Queued], outcomes: Sequence[_Outcome]) -> None:
        """Announce the written events in order, then answer every caller."""
        written = [o for o in outcomes if isinstance(o, Written)]
        failure: BaseException | None = None
        try:
            await self._writer.announce(written)
        except Exception as exc:  # as for a single send: the writer hears the failure
            failure = exc
        for item, own in zip(group, outcomes, strict=True):
            outcome = outcomes[own.index] if isinstance(own, _SameAs) else own
            if item.answer.done():
                continue
            if isinstance(outcome, Written):
                if failure is not None:
                    item.answer.set_exception(failure)
                else:
                    item.answer.set_result(outcome.event)
            elif isinstance(outcome, StoredEvent):
                item.answer.set_result(outcome)
            elif isinstance(outcome, BaseException):
                item.answer.set_exception(outcome)

    async def _write_group(self, room_id: str, group: Sequence[_Queued]) -> list[_Outcome]:
        above = 0
        for _ in range(_MAX_ATTEMPTS):
            try:
                with ExitStack() as in_flight:
                    take = self._writer.position_taker(in_flight, above)
                    async with self._writer.transaction() as t:
                        return await self._group_transaction(t, room_id, group, take)
            except RoomMovedError as moved:
                above = max(above, moved.end_position)
        raise too_busy()

    async def _group_transaction(
        self, t: Queryable, room_id: str, group: Sequence[_Queued], take: Callable[[int], int]
    ) -> list[_Outcome]:
        opened = await self._writer.open_room(
            t, room_id, [item.draft for item in group],
            [item.txn for item in group if item.txn is not None],
        )  # fmt: skip
        room, end_position, stored = opened.room, opened.end_position, opened.stored
        outcomes: list[_Outcome | None] = [None] * len(group)
        candidates: list[int] = []
        for n, item in enumerate(group):
            if item.txn is not None and item.txn in stored:
                outcomes[n] = stored[item.txn]
                continue
            try:
                check_json_values(item.draft.content)
            except MatrixError as exc:
                outcomes[n] = exc
                continue
            candidates.append(n)
        current = opened.current
        head = room
        built: list[Built] = []
        first_of: dict[SendTxn, int] = {}
        for n in candidates:
            item = group[n]
            if item.txn is not None and item.txn in first_of:
                outcomes[n] = _SameAs(first_of[item.txn])
                continue
            try:
                new = self._writer.build(
                    head, current, item.draft, lambda: take(end_position), item.txn
                )
            except MatrixError as exc:
                outcomes[n] = exc
                continue
            head = msgspec.structs.replace(
                head, last_event_id=new.event.event_id, depth=new.event.depth
            )
            built.append(new)
            outcomes[n] = Written(new.event, new.context)
            if item.txn is not None:
                first_of[item.txn] = n
        if built:
            await self._writer.write_messages(t, room, built)
        settled = [o for o in outcomes if o is not None]
        assert len(settled) == len(group)  # every item has its outcome
        return settled
