"""Purging a room's history up to a point, on an admin's request: Synapse's Purge History API
(`POST /_synapse/admin/v1/purge_history/{roomId}[/{eventId}]`, its status by `purge_id`), what
admin tools call to reclaim space or to clear a room's old messages at once, without waiting for
a retention policy.

Safety design (destructive code: docs/compliance.md, "Purging a room's history"):
- What goes is decided by the retention store's delete clause (store/sql/retention.py), the
  one the retention purge uses, with a position cut instead of an age: only message events (room
  state, the auth chain and every state event stay, as Synapse keeps "room state data (such as
  joins, leaves, topic)"), never the room's latest event ("it will never delete the last message
  in a room"), and never an event an active legal hold covers (the `NOT EXISTS` is in the SQL):
  a held message survives this path too.
- The point, as Synapse's: an event (in the path or `purge_up_to_event_id`) is kept and
  everything of the room before it goes; with `purge_up_to_ts`, the room's last event sent
  before that time is the point (kept). An event of another room is refused (400); a time
  before the room's first event, 404 "there is no event to be purged".
- `delete_local_events` false (Synapse's default) purges only other servers' users' events,
  "as they may represent the only copies of this content in existence"; Bastion does not
  federate, so without the flag nothing it holds is purged (the purge completes with 0).
- A durable job: the request writes the row (`active`) and the `room.purge_history` audit
  record in one transaction and answers the `purge_id` at once; a worker (workers/
  history_purge.py, one pass at a time server-wide) deletes in batches of `BATCH`, each in one
  transaction with the job's count, so a crash loses at most the batch in flight and the next
  start resumes. The last batch marks it `complete` with its audit record
  (`room.purge_history`, phase complete, and the count); an unexpected error marks it `failed`
  with the error's name (Synapse's statuses: `active`, `complete`, `failed`).
- Files: a purged message's local `mxc://` files that nothing stored names any more go with it
  (the retention purge's `delete_unreferenced_media`, in the batch's transaction; the files after
  the commit). Then the search index is compacted and space reclaimed, as after a retention pass.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.services.audit.trail import FAILURE, AuditTrail
from bastion.services.media.storage import MediaStorage, remove_stored_files
from bastion.services.principal import Principal, ServerActor, log_admin_action
from bastion.services.retention.purge import delete_unnamed_media
from bastion.store.database import Database
from bastion.store.protocols import EventStore, RoomStore
from bastion.store.protocols.compliance import RetentionStore
from bastion.store.protocols.history_purges import HistoryPurgeRow, HistoryPurgeStore

log = logging.getLogger(__name__)

ACTION = "room.purge_history"
BATCH = 500
ACTIVE, COMPLETE, FAILED = "active", "complete", "failed"


@dataclass(frozen=True, slots=True)
class PurgePoint:
    """Where an admin asked the purge to stop: an event (kept), else a time."""

    event_id: str | None = None
    before_ts: int | None = None


@dataclass(frozen=True, slots=True)
class HistoryPurgeStores:
    """The stores a history purge reads and deletes through."""

    purges: HistoryPurgeStore
    retention: RetentionStore
    events: EventStore
    rooms: RoomStore


class HistoryPurges:
    """Starts history purges, reports them and runs them (the worker calls `run_pending`)."""

    def __init__(
        self,
        db: Database,
        stores: HistoryPurgeStores,
        audit: AuditTrail,
        clock: Clock,
        *,
        media: tuple[MediaStorage, str],
        batch: int = BATCH,
    ) -> None:
        self._db, self._stores, self._audit, self._clock = db, stores, audit, clock
        self._storage, self._server_name = media  # the media store, and whose mxc:// is ours
        self._batch = batch
        self.wakeup = asyncio.Event()  # set when a purge is asked for (the worker waits on it)

    async def start(
        self, actor: Principal, room_id: str, point: PurgePoint, *, delete_local: bool
    ) -> str:
        """Write the purge of `room_id` up to `point`; its `purge_id`."""
        actor.require_admin()
        async with self._audit.attempt(actor, ACTION, room_id):
            if await self._stores.rooms.get_room(self._db, room_id) is None:
                raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room {room_id}")
            before = await self._position(room_id, point)
            now = self._clock.now_ms()
            purge = HistoryPurgeRow(
                purge_id=secrets.token_urlsafe(12), room_id=room_id,
                requested_by=actor.audit_id, before_position=before, delete_local=delete_local,
                status=ACTIVE, deleted=0, error=None, created_ts=now, updated_ts=now,
            )  # fmt: skip
            details = {
                "purge_id": purge.purge_id, "phase": "requested", "event_id": point.event_id,
                "before_ts": point.before_ts, "delete_local_events": delete_local,
            }  # fmt: skip
            async with self._db.transaction() as t:
                await self._stores.purges.insert_purge(t, purge)
                await self._audit.record(t, actor, ACTION, room_id, details)
        log_admin_action(actor, f"asked to purge the history of {room_id} ({purge.purge_id})")
        self.wakeup.set()
        return purge.purge_id

    async def status(self, actor: Principal, purge_id: str) -> HistoryPurgeRow:
        """One purge; 404 M_NOT_FOUND for an unknown `purge_id`."""
        actor.require_admin()
        purge = await self._stores.purges.get_purge(self._db, purge_id)
        if purge is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"purge id '{purge_id}' not found")
        return purge

    async def of_room(
        self, actor: Principal, room_id: str, limit: int = 5
    ) -> list[HistoryPurgeRow]:
        """The room's latest purges, newest first (the console's room page)."""
        actor.require_admin()
        return await self._stores.purges.purges_of_room(self._db, room_id, limit)

    async def run_pending(self) -> int:
        """Run every unfinished purge to its end; how many ran."""
        self.wakeup.clear()
        purges = await self._stores.purges.unfinished_purges(self._db)
        for purge in purges:
            await self._run(purge)
        return len(purges)

    async def _position(self, room_id: str, point: PurgePoint) -> int:
        """The stream position below which the room's messages go (the point's own stays)."""
        if point.event_id is not None:
            event = await self._stores.events.get_event(self._db, point.event_id)
            if event is None:
                raise MatrixError(404, Errcode.NOT_FOUND, f"unknown event {point.event_id}")
            if event.room_id != room_id:
                raise MatrixError(400, Errcode.INVALID_PARAM, "Event is for wrong room.")
            return event.stream_ordering
        assert point.before_ts is not None  # the API asks for one of the two
        position = await self._stores.retention.last_position_before(
            self._db, room_id, point.before_ts
        )
        if position is None:
            raise MatrixError(404, Errcode.NOT_FOUND, "there is no event to be purged")
        return position

    async def _run(self, purge: HistoryPurgeRow) -> None:
        actor = ServerActor(f"history purge requested by {purge.requested_by}")
        deleted, done = purge.deleted, False
        try:
            while not done:
                done, deleted = await self._batch_of(purge, actor, deleted)
        except Exception as exc:  # the row says why; the next purge still runs
            log.exception("purging the history of %s (%s) failed", purge.room_id, purge.purge_id)
            error = exc.message if isinstance(exc, MatrixError) else type(exc).__name__
            details = {"purge_id": purge.purge_id, "phase": FAILED, "error": error}
            async with self._db.transaction() as t:
                await self._stores.purges.update_purge(
                    t, purge.purge_id, status=FAILED, deleted=deleted, error=error,
                    now_ms=self._clock.now_ms(),
                )  # fmt: skip
                await self._audit.record(t, actor, ACTION, purge.room_id, details, outcome=FAILURE)
            return
        async with self._db.transaction() as t:
            await self._stores.retention.compact_search_index(t)
        await self._db.reclaim_space()

    async def _batch_of(
        self, purge: HistoryPurgeRow, actor: Principal, deleted: int
    ) -> tuple[bool, int]:
        """Delete one batch and commit the count with it; (nothing left, the count so far)."""
        local_suffix = None if purge.delete_local else f":{self._server_name}"
        async with self._db.transaction() as t:
            events = await self._stores.retention.delete_history(
                t, purge.room_id, purge.before_position, local_suffix=local_suffix,
                limit=self._batch,
            )  # fmt: skip
            media = await delete_unnamed_media(
                self._stores.retention, t, self._server_name, [e.pdu for e in events]
            )
            done = len(events) < self._batch
            total = deleted + len(events)
            await self._stores.purges.update_purge(
                t, purge.purge_id, status=COMPLETE if done else ACTIVE, deleted=total,
                error=None, now_ms=self._clock.now_ms(),
            )  # fmt: skip
            if done:
                details = {"purge_id": purge.purge_id, "phase": COMPLETE, "deleted": total}
                await self._audit.record(t, actor, ACTION, purge.room_id, details)
        await remove_stored_files(self._storage, media)
        return done, total
