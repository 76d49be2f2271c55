"""The start-up backfills as resumable jobs: work that data stored by older versions still needs.

Each job's progress lives in the database and is committed with each batch, so a job stopped
between batches (a crash, a kill) resumes from the last committed batch on the next start and
never redoes one:

- `SearchIndexBackfill`: events stored before the search index existed, newest first; progress
  is `event_search_backfill.upto` (0 once done).
- `UserDirectoryBackfill`: active accounts without directory terms; progress is the terms
  themselves (an indexed account is no longer selected).
- `RedactionBacklogPrune`: events redacted before redactions pruned stored content; progress is
  the pruned events themselves (their originals are kept aside, which the query excludes).
- `MediaReferenceBackfill`: the files events stored before the media reference index name
  (services/media/references.py), newest first; progress is `media_references_backfill.upto`
  (0 once done). Nothing may purge before it ends: a purge trusts the index to find every
  event that names a file.

They block start-up (`Runtime.open` runs them to completion before wiring the services), which
is the correct choice while they are fast: a search answered before the index backfill finished
would silently miss old events, and a directory search would miss old accounts. On a database
already backfilled each job costs one query. Processes starting together run them one at a
time (`Database.exclusive(STARTUP_BACKFILLS)`, taken by `Runtime.open`).
"""

from __future__ import annotations

from bastion.clock import Clock
from bastion.services.directory.user_index import UserDirectoryIndex
from bastion.services.media.references import backfill_references_batch
from bastion.services.rooms.redaction import prune_redacted_batch
from bastion.services.search.indexer import backfill_index_batch
from bastion.store.database import Database
from bastion.store.protocols import EventStore, RoomStore, SearchStore
from bastion.store.protocols.media_references import MediaReferenceStore

STARTUP_BACKFILLS = "start-up backfills"  # the `Database.exclusive` lock they run under


class SearchIndexBackfill:
    """Indexes events older than the search index."""

    name = "search index backfill"

    def __init__(self, db: Database, store: SearchStore, *, batch: int = 1000) -> None:
        self._db = db
        self._store = store
        self._batch = batch
        self.done = 0

    async def step(self) -> bool:
        read = await backfill_index_batch(self._db, self._store, batch=self._batch)
        self.done += read
        return read < self._batch


class UserDirectoryBackfill:
    """Gives accounts older than the user directory their search terms."""

    name = "user directory backfill"

    def __init__(self, db: Database, index: UserDirectoryIndex, *, batch: int = 500) -> None:
        self._db = db
        self._index = index
        self._batch = batch
        self.done = 0

    async def step(self) -> bool:
        indexed = await self._index.backfill_batch(self._db, batch=self._batch)
        self.done += indexed
        return indexed < self._batch


class RedactionBacklogPrune:
    """Replaces events redacted by older versions with their redacted form."""

    name = "redaction backlog"

    def __init__(
        self,
        db: Database,
        events: EventStore,
        rooms: RoomStore,
        clock: Clock,
        *,
        batch: int = 500,
    ) -> None:
        self._db = db
        self._events = events
        self._rooms = rooms
        self._clock = clock
        self._batch = batch
        self.done = 0

    async def step(self) -> bool:
        pruned = await prune_redacted_batch(
            self._db, self._events, self._rooms, now_ms=self._clock.now_ms(), batch=self._batch
        )
        self.done += pruned
        return pruned < self._batch


class MediaReferenceBackfill:
    """Indexes the files named by events older than the media reference index."""

    name = "media reference backfill"

    def __init__(self, db: Database, store: MediaReferenceStore, server_name: str) -> None:
        self._db, self._store, self._server_name = db, store, server_name
        self.done = 0

    async def step(self) -> bool:
        finished, written = await backfill_references_batch(
            self._db, self._store, self._server_name
        )
        self.done += written
        return finished
