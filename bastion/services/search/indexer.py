"""What the search index holds for an event, and the backfill of events older than the index.

`SearchIndexer` is an event hook (services/event_hooks.py): in the `record` phase it writes
`search_entry(event)` for every event the pipeline stores, and deletes the rows of the event a
redaction redacts, inside the transaction that stores the event: the index never holds an event
that was rolled back nor keeps one whose redaction committed.

Searchable (spec: client-server-api#server-side-search): `content.body` of m.room.message,
`content.name` of m.room.name, and of m.room.topic `content.topic` with the `text/plain` bodies
of `content["m.topic"]`. Encrypted events carry no searchable text.

Events stored before the index existed are indexed by `backfill_index_batch` (run at start-up
by `workers/backfills.py`), newest first, one transaction per batch that also stores how far it
got (`event_search_backfill.upto`); it resumes where it stopped and does nothing once done.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from typing_extensions import override

from bastion.events.model import StoredEvent
from bastion.events.types import EventType
from bastion.services.event_hooks import EventContext, EventHook
from bastion.services.search.normalize import tokens
from bastion.store.database import Database, Queryable
from bastion.store.protocols import SearchEntry, SearchStore

log = logging.getLogger(__name__)

SEARCH_KEYS = {
    EventType.MESSAGE.value: "content.body",
    EventType.NAME.value: "content.name",
    EventType.TOPIC.value: "content.topic",
}


def _topic_text(content: dict[str, object]) -> list[str]:
    texts = [content.get("topic")]
    block = content.get("m.topic")
    representations = block.get("m.text") if isinstance(block, dict) else None
    if isinstance(representations, list):
        texts += [
            r.get("body")
            for r in representations
            if isinstance(r, dict) and r.get("mimetype", "text/plain") == "text/plain"
        ]
    return list(dict.fromkeys(t for t in texts if isinstance(t, str)))


def searchable_text(event: StoredEvent) -> str | None:
    """The text of `event` that search looks at, or None when it has none."""
    if event.type == EventType.MESSAGE and event.state_key is None:
        body = event.content.get("body")
        return body if isinstance(body, str) else None
    if event.state_key != "":
        return None
    if event.type == EventType.NAME:
        name = event.content.get("name")
        return name if isinstance(name, str) else None
    if event.type == EventType.TOPIC:
        return "\n".join(_topic_text(event.content)) or None
    return None


def search_entry(event: StoredEvent) -> SearchEntry | None:
    """The index row for `event`, or None when there is nothing to search in it."""
    text = searchable_text(event)
    found = tokens(text) if text is not None else []
    if not found:
        return None
    key = SEARCH_KEYS[event.type]
    return SearchEntry(event.stream_ordering, event.room_id, event.sender, key, found)


class SearchIndexer(EventHook):
    """Keeps `event_search` in step with the events the pipeline stores."""

    def __init__(self, store: SearchStore) -> None:
        self._store = store

    @override
    async def record(self, q: Queryable, event: StoredEvent, context: EventContext) -> None:
        if (entry := search_entry(event)) is not None:
            await self._store.insert_entries(q, [entry])
        redacts = event.content.get("redacts") if event.type == EventType.REDACTION else None
        if isinstance(redacts, str):
            await self._store.delete_event(q, redacts)

    @override
    async def record_group(
        self, q: Queryable, written: Sequence[tuple[StoredEvent, EventContext]]
    ) -> None:
        """The group's rows in one statement (a group holds no redaction)."""
        if any(event.type == EventType.REDACTION for event, _ in written):
            await super().record_group(q, written)
            return
        entries = [e for e in (search_entry(event) for event, _ in written) if e is not None]
        if entries:
            await self._store.insert_entries(q, entries)


async def backfill_index_batch(db: Database, store: SearchStore, *, batch: int = 1000) -> int:
    """Index one batch of the events stored before the index existed, newest first, and move the
    stored position past it in the same transaction; returns how many were read (fewer than
    `batch`: nothing is left)."""
    async with db.transaction() as t:
        upto = await store.get_backfill_position(t)
        if upto <= 0:
            return 0
        events = await store.events_to_backfill(t, upto=upto, types=list(SEARCH_KEYS), limit=batch)
        entries = [e for e in map(search_entry, events) if e is not None]
        if entries:
            await store.insert_entries(t, entries)
        rest = events[-1].stream_ordering - 1 if len(events) == batch else 0
        await store.set_backfill_position(t, rest)
    log.info("search index backfill: %d events read, %d positions to go", len(events), rest)
    return len(events)
