"""The retention purge: deletes expired message events and old redacted originals.

Safety design (destructive code: docs/compliance.md, "Retention"):
- What expires is decided by ONE function (`policy.RoomRetention.expired_before`), the same the
  read door hides with, so the purge never deletes an event a client could still be shown, and
  a client never sees one the purge would delete.
- The delete query itself (store/sql/retention.py, `_EXPIRED`) keeps what the room needs and
  what the law needs: only message events (no state key: current state, the auth chain and
  every state event stay), never the room's latest event (the next event's `prev_events`), and
  never an event an active legal hold covers (`NOT EXISTS` against the hold tables, in the SQL:
  no code path can purge a held event by skipping a check).
- Bounded batches, one transaction each: a batch deletes at most `batch` events of one room
  and the rows that exist only for them (search index, relations, threads, push actions,
  redacted originals, transaction IDs) and the media no stored event names any more (media.py;
  its files are deleted after the commit), so the write lock is never held long and a crash
  loses at most the batch in flight (rolled back whole).
- Idempotent and resumable: a batch deletes only what is expired and still there, so running
  again never deletes more than once; the room a pass reached is committed with each room's last
  batch (`retention_progress`), so an interrupted pass resumes at the next room, not the first.
- Dry run: the same WHERE clause counts instead of deleting, and nothing is written.
- Redaction really removes: originals in `redacted_event_originals` older than
  `redacted_content_days` are deleted in batches, except those a hold covers; before that, any
  a hold covers are copied into the hold store (`held_event_originals`), which pruning never
  touches. A pruned original's files that nothing else names go with it, so a redacted photo
  does not outlive its redacted text.
- Files: a purged message's, or a pruned original's, local `mxc://` URIs (every string in its
  content: `url`, `info.thumbnail_url`, an encrypted file's `file.url`) name media that may now
  be unreferenced; the store deletes a media row only when no remaining event, kept redacted or
  held original, or profile names it (`delete_unreferenced_media`), in the same transaction, and
  the files go after the commit (a crash in between leaves files without rows, never a row
  without its file).
- Space: after a purge that deleted anything, `Database.reclaim_space` (SQLite incremental
  vacuum and WAL truncation; PostgreSQL autovacuum).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from bastion.clock import Clock
from bastion.services.audit.trail import AuditTrail
from bastion.services.media.mxc import local_media_ids
from bastion.services.media.storage import MediaStorage, remove_stored_files
from bastion.services.principal import Principal
from bastion.services.retention.policy import RoomRetention
from bastion.store.database import Database, Queryable
from bastion.store.protocols.compliance import DeletedMedia, HoldStore, RetentionStore

log = logging.getLogger(__name__)

JOB = "retention_purge"
BATCH = 500
ROOM_PAGE = 200
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What a purge did (or, dry run, would do)."""

    dry_run: bool
    events: int  # expired message events deleted (dry run: expired now)
    rooms: int  # rooms that had expired events
    redacted_originals: int  # redacted originals pruned (dry run: prunable now)
    complete: bool  # False when stopped by `max_batches`: the next run continues
    media: int = 0  # unreferenced media deleted with the events (dry run: not counted)


@dataclass
class _Tally:
    """One pass: its limits and what it did so far."""

    batch: int
    max_batches: int | None
    events: int = 0
    rooms: int = 0
    originals: int = 0
    media: int = 0
    batches: int = 0

    def take_batch(self) -> bool:
        """Count one more batch; False when the pass has used all it may."""
        if self.max_batches is not None and self.batches >= self.max_batches:
            return False
        self.batches += 1
        return True


class RetentionPurge:
    """Runs purge passes; see the module docstring for the safety design."""

    def __init__(
        self,
        db: Database,
        stores: tuple[RetentionStore, HoldStore],
        retention: RoomRetention,
        clock: Clock,
        *,
        audit: AuditTrail,
        media: tuple[MediaStorage, str],
        batch: int = BATCH,
    ) -> None:
        self._db, self._retention, self._clock, self._batch = db, retention, clock, batch
        self._store, self._holds = stores
        self._audit = audit
        self._storage, self._server_name = media  # the media store, and whose mxc:// is ours

    async def interval_s(self) -> int:
        """How long to wait between passes (the policy's `purge_interval_s`)."""
        return (await self._retention.policy()).purge_interval_s

    async def run(self, actor: Principal, *, dry_run: bool = False) -> PurgeReport:
        """A pass on demand (admin API, CLI): admins only; audited as `retention.purge`."""
        actor.require_admin()
        async with self._audit.attempt(actor, "retention.purge"):
            report = await self.purge(dry_run=dry_run)
            await self._audit.record_alone(actor, "retention.purge", None, asdict(report))
        return report

    async def purge(
        self, *, dry_run: bool = False, max_batches: int | None = None, batch: int | None = None
    ) -> PurgeReport:
        """One pass over every room with a lifetime, then the redacted originals.

        `max_batches` stops the pass early (the next one resumes where it stopped); `batch`
        overrides how many rows one transaction deletes."""
        tally = _Tally(batch or self._batch, max_batches)
        if dry_run:
            await self._count(tally)
            return PurgeReport(True, tally.events, tally.rooms, tally.originals, complete=True)
        complete = await self._purge_rooms(tally)
        if complete:
            complete = await self._prune_originals(tally)
        if tally.events or tally.originals:
            if tally.events:
                async with self._db.transaction() as t:
                    await self._store.compact_search_index(t)
            await self._db.reclaim_space()
            log.info(
                "retention purge: %d events in %d rooms, %d redacted originals",
                tally.events, tally.rooms, tally.originals,
            )  # fmt: skip
        return PurgeReport(
            False, tally.events, tally.rooms, tally.originals, complete, media=tally.media
        )

    async def _rooms_after(self, after: str) -> list[str]:
        """The next rooms (by ID) that may have a lifetime."""
        if (await self._retention.policy()).default_max_lifetime_ms is not None:
            return await self._store.rooms_after(self._db, after, ROOM_PAGE)
        rooms = sorted(r for r in await self._retention.room_lifetimes() if r > after)
        return rooms[:ROOM_PAGE]

    async def _count(self, tally: _Tally) -> None:
        after = ""
        while rooms := await self._rooms_after(after):
            for room_id in rooms:
                cutoff = await self._retention.expired_before(room_id)
                if cutoff is not None and (
                    n := await self._store.count_expired(self._db, room_id, cutoff)
                ):
                    tally.events += n
                    tally.rooms += 1
            after = rooms[-1]
        tally.originals = await self._store.count_prunable_originals(
            self._db, await self._originals_cutoff()
        )

    async def _purge_rooms(self, tally: _Tally) -> bool:
        after = await self._store.cursor(self._db, JOB)
        while rooms := await self._rooms_after(after):
            for room_id in rooms:
                if not await self._purge_room(room_id, tally):
                    return False
            after = rooms[-1]
        async with self._db.transaction() as t:
            await self._store.set_cursor(t, JOB, "", self._clock.now_ms())
        return True

    async def _purge_room(self, room_id: str, tally: _Tally) -> bool:
        """Delete the room's expired events batch by batch; False when out of batches."""
        cutoff = await self._retention.expired_before(room_id)
        counted = False
        while True:
            if not tally.take_batch():
                return False
            async with self._db.transaction() as t:
                purged = await self._store.delete_expired(
                    t, room_id, cutoff, tally.batch
                ) if cutoff is not None else []  # fmt: skip
                finished = len(purged) < tally.batch
                if finished:  # the room's last batch: a resumed pass starts after it
                    await self._store.set_cursor(t, JOB, room_id, self._clock.now_ms())
                media = await self._delete_media(t, [event.pdu for event in purged])
            await remove_stored_files(self._storage, media)
            tally.media += len(media)
            tally.events += len(purged)
            if purged and not counted:
                tally.rooms, counted = tally.rooms + 1, True
            if finished:
                return True

    async def _prune_originals(self, tally: _Tally) -> bool:
        before = await self._originals_cutoff()
        async with self._db.transaction() as t:
            await self._holds.keep_held_originals(t, self._clock.now_ms())
        while True:
            if not tally.take_batch():
                return False
            async with self._db.transaction() as t:
                pruned = await self._store.prune_originals(t, before, tally.batch)
                media = await self._delete_media(t, pruned)
            await remove_stored_files(self._storage, media)
            tally.media += len(media)
            tally.originals += len(pruned)
            if len(pruned) < tally.batch:
                return True

    async def _delete_media(self, t: Queryable, pdus: list[str]) -> list[DeletedMedia]:
        return await delete_unnamed_media(self._store, t, self._server_name, pdus)

    async def _originals_cutoff(self) -> int:
        days = (await self._retention.policy()).redacted_content_days
        return self._clock.now_ms() - days * DAY_MS


async def delete_unnamed_media(
    store: RetentionStore, t: Queryable, server_name: str, pdus: list[str]
) -> list[DeletedMedia]:
    """In `t`: this server's files the removed events (`pdus`) named that nothing names any
    more (the retention purge's and an admin's history purge's)."""
    media_ids = sorted(local_media_ids(pdus, server_name))
    return await store.delete_unreferenced_media(t, server_name, media_ids)
