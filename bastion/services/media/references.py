"""The media reference index: which stored events name which of this server's files.

Why: the purges (retention, an admin's history purge, offboarding's erase, deleting unused
files) may delete a file only when nothing stored names it any more, and they ask in their own
write transaction. Answering by scanning every event's JSON for the URI cost a full table scan
per file (0.2 s per file at 500,000 events on SQLite), holding the write lock; the index
narrows each question to the events that ever named the file.

- `MediaReferenceRecorder`, a pipeline hook (services/event_hooks.py), writes a row per local
  media ID an event's content names (`url`, `info.thumbnail_url`, an encrypted file's
  `file.url`, an avatar: every `mxc://` string, services/media/mxc.py), in the event's own
  transaction: no event is stored without its rows. Kept originals of redacted or held events
  are the same events, so their rows are the event's.
- `backfill_references_batch`: events stored before the index (migration 0042), read at
  start-up before anything can purge (workers/backfills.py), then the kept originals whose
  event is gone.
- The readers (store/sql/media_references.py `named_in`) check the named event's JSON still
  holds the URI, so rows of purged or pruned events need no upkeep; rows go with their media
  row (store/sql/media.py `delete_media_row`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence

from typing_extensions import override

from bastion.events.model import StoredEvent
from bastion.services.event_hooks import EventContext, EventHook
from bastion.services.media.mxc import local_media_id, mxc_uris_in
from bastion.store.database import Database, Queryable
from bastion.store.protocols.media_references import MediaReferenceStore

log = logging.getLogger(__name__)

BACKFILL_WINDOW = 5000  # positions read per start-up step


def local_references(
    server_name: str, named: Iterable[tuple[str, object]]
) -> list[tuple[str, str]]:
    """(media ID, event ID) of this server's files each event's content names."""
    found: set[tuple[str, str]] = set()
    for event_id, content in named:
        for uri in mxc_uris_in(content):
            if (media_id := local_media_id(server_name, uri)) is not None:
                found.add((media_id, event_id))
    return sorted(found)


class MediaReferenceRecorder(EventHook):
    """Writes the index rows of each event with the event (module docstring)."""

    def __init__(self, store: MediaReferenceStore, server_name: str) -> None:
        self._store, self._server_name = store, server_name

    @override
    async def record(self, q: Queryable, event: StoredEvent, context: EventContext) -> None:
        named = [(event.event_id, event.content)]
        await self._store.add(q, local_references(self._server_name, named))

    @override
    async def record_group(
        self, q: Queryable, written: Sequence[tuple[StoredEvent, EventContext]]
    ) -> None:
        named = [(event.event_id, event.content) for event, _context in written]
        await self._store.add(q, local_references(self._server_name, named))


async def backfill_references_batch(
    db: Database, store: MediaReferenceStore, server_name: str, *, window: int = BACKFILL_WINDOW
) -> tuple[bool, int]:
    """Index one window of positions of the events older than the index (newest first), and
    move the stored position past it in the same transaction; at the end, the kept originals
    whose event is gone. (nothing is left, how many rows were written)."""
    async with db.transaction() as t:
        upto = await store.backfill_position(t)
        if upto <= 0:
            return True, 0
        low = max(upto - window + 1, 0)
        rows = await store.contents_between(t, low, upto)
        if low == 0:
            rows += await store.orphan_original_contents(t)
        references = local_references(server_name, _contents(rows))
        await store.add(t, references)
        await store.set_backfill_position(t, low - 1 if low > 0 else 0)
    log.info("media reference backfill: positions %d..%d read", low, upto)
    return low == 0, len(references)


def _contents(rows: Iterable[tuple[str, str]]) -> Iterable[tuple[str, object]]:
    """(event ID, content) of stored JSON (JSON that does not parse names nothing)."""
    for event_id, pdu in rows:
        try:
            event = json.loads(pdu)
        except ValueError:
            continue
        if isinstance(event, dict):
            yield event_id, event.get("content")
