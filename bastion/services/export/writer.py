"""Writing one export into an archive, batch by batch: the part that must stream.

Invariants:
- Bounded memory: events are read BATCH_SIZE at a time (keyset on stream position), each batch
  is formatted and written, then dropped; the conversation file is one archive entry written
  incrementally. What is kept across batches is bounded by the number of rooms (their facts),
  never by the number of events. Attachments are copied in a second pass over the same
  selection, a chunk at a time (one zip entry is open at a time, so they cannot be interleaved
  with the conversation file). EML messages go into inner zip parts of at most `eml_part_size`
  messages each, written to a temporary file and added as one entry when full (eml_parts.py), so
  an EML export has a few entries, not one per message.
- A compliance read, not a client read: events are read here without the read door, on purpose
  (server admins only, audited as `export.create`; see docs/subsystems/read-door.md), and
  include what clients never get: the original of a redacted event.
- Encrypted rooms: their events are exported with their metadata (sender, time, type, relations);
  the server cannot read the text, and the manifest lists these rooms and says so.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

from bastion.services.export.archive import Archive, Entry
from bastion.services.export.eml import eml_bytes
from bastion.services.export.eml_parts import PART_SIZE, EmlParts
from bastion.services.export.message import Message, read_message
from bastion.services.export.request import ExportOptions
from bastion.services.export.rows import BOM, CSV_HEADER, Context, csv_row, jsonl_line
from bastion.services.media.storage import MediaStorage, StorageKey
from bastion.store.database import Database
from bastion.store.protocols.exports import EventFilter, ExportStore, MediaFacts, RoomFacts

BATCH_SIZE = 500
_NOT_NAME_SAFE = re.compile(r"[^A-Za-z0-9_-]")

# Called after each batch with (done, total) work units.
Progress = Callable[[int, int], Awaitable[None]]


async def no_progress(done: int, total: int) -> None:
    """The default progress report: none."""


@dataclass
class ExportSummary:
    """What an export wrote."""

    events: int = 0
    messages: int = 0
    media_files: int = 0
    media_missing: int = 0
    rooms: dict[str, RoomFacts] = field(default_factory=dict)
    top_level: list[str] = field(default_factory=list)
    eml_parts: list[tuple[str, int]] = field(default_factory=list)  # (file, messages in it)

    @property
    def encrypted_rooms(self) -> list[str]:
        return sorted(room_id for room_id, facts in self.rooms.items() if facts.encrypted)


@dataclass(frozen=True, slots=True)
class ExportSources:
    """Where an export reads from."""

    db: Database
    store: ExportStore
    media: MediaStorage
    server_name: str


class ExportWriter:
    """Writes the conversations (and attachments) an export selects into an archive."""

    def __init__(
        self,
        sources: ExportSources,
        *,
        batch_size: int = BATCH_SIZE,
        eml_part_size: int = PART_SIZE,
    ) -> None:
        self._sources = sources
        self._batch_size = batch_size
        self._eml_part_size = eml_part_size

    async def write(
        self, archive: Archive, options: ExportOptions, progress: Progress = no_progress
    ) -> ExportSummary:
        """Write the selected events, then their attachments when asked."""
        src, request = self._sources, options.request
        selection = options.selection()
        passes = 2 if request.include_media else 1
        total = await src.store.count_export_events(src.db, selection) * passes
        summary = ExportSummary()
        with ExitStack() as stack:
            single: Entry | EmlParts
            if request.format == "eml":
                single = EmlParts(archive, self._eml_part_size)
                stack.callback(single.close)
            else:
                name = f"conversations.{request.format}"
                single = stack.enter_context(archive.entry(name))
                summary.top_level.append(name)
                if request.format == "csv":
                    single.write(BOM.encode() + _csv_bytes([CSV_HEADER]))
            async for batch in self._batches(selection):
                contexts = await self._contexts(batch, summary, request.include_media)
                await asyncio.to_thread(self._write_batch, single, batch, contexts, options,
                                        summary)  # fmt: skip
                summary.events += len(batch)
                await progress(summary.events, total)
            if isinstance(single, EmlParts):
                await asyncio.to_thread(single.flush)
                summary.eml_parts = single.parts
        if summary.eml_parts:
            summary.top_level.append("eml/")
        if request.include_media:
            await self._copy_media(archive, selection, summary, progress, total)
        return summary

    def _batches(self, selection: EventFilter) -> _Batches:
        return _Batches(self._sources, selection, self._batch_size)

    async def _contexts(
        self, batch: list[Message], summary: ExportSummary, include_media: bool
    ) -> list[Context]:
        src = self._sources
        contexts: list[Context] = []
        for message in batch:
            room_id = message.stored.room_id
            if room_id not in summary.rooms:
                summary.rooms[room_id] = await src.store.room_facts(src.db, room_id)
            media = await self._media_facts(message)
            media_file = _media_name(media) if include_media and media is not None else None
            contexts.append(Context(summary.rooms[room_id], media, media_file))
        return contexts

    async def _media_facts(self, message: Message) -> MediaFacts | None:
        attachment = message.attachment
        if attachment is None or attachment.server_name != self._sources.server_name:
            return None
        return await self._sources.store.media_facts(self._sources.db, attachment.media_id)

    def _write_batch(
        self, single: Entry | EmlParts, batch: list[Message], contexts: list[Context],
        options: ExportOptions, summary: ExportSummary,
    ) -> None:  # fmt: skip
        fmt = options.request.format
        if fmt == "jsonl" and isinstance(single, Entry):
            single.write(b"".join(jsonl_line(m, c) for m, c in zip(batch, contexts, strict=True)))
            summary.messages += sum(1 for m in batch if m.is_message)
            return
        pairs = [(m, c) for m, c in zip(batch, contexts, strict=True) if m.is_message]
        summary.messages += len(pairs)
        if fmt == "csv" and isinstance(single, Entry):
            single.write(_csv_bytes([csv_row(m, c) for m, c in pairs]))
            return
        if isinstance(single, EmlParts):
            for message, context in pairs:
                single.add(
                    _eml_name(message), eml_bytes(message, context, self._sources.server_name)
                )

    async def _copy_media(
        self, archive: Archive, selection: EventFilter, summary: ExportSummary,
        progress: Progress, total: int,
    ) -> None:  # fmt: skip
        done = summary.events
        async for batch in self._batches(selection):
            for message in batch:
                media = await self._media_facts(message)
                if media is not None and not archive.has(_media_name(media)):
                    await self._copy_one(archive, media, summary)
            done += len(batch)
            await progress(done, total)
        if summary.media_files:
            summary.top_level.append("media/")

    async def _copy_one(self, archive: Archive, media: MediaFacts, summary: ExportSummary) -> None:
        try:
            stored = await self._sources.media.open(StorageKey(media.media_id))
        except ValueError:  # not a media ID storage accepts: nothing on disk
            stored = None
        if stored is None:
            summary.media_missing += 1
            return
        with archive.entry(_media_name(media)) as entry:
            async for chunk in stored.chunks():
                entry.write(chunk)
        summary.media_files += 1


class _Batches:
    """Async iteration over an export's events, one bounded batch at a time."""

    def __init__(self, sources: ExportSources, selection: EventFilter, limit: int) -> None:
        self._sources, self._selection, self._limit = sources, selection, limit
        self._after = 0
        self._finished = False

    def __aiter__(self) -> _Batches:
        return self

    async def __anext__(self) -> list[Message]:
        if self._finished:
            raise StopAsyncIteration
        src = self._sources
        rows = await src.store.export_events(
            src.db, self._selection, after=self._after, limit=self._limit
        )
        self._finished = len(rows) < self._limit
        if not rows:
            raise StopAsyncIteration
        self._after = rows[-1].stream_ordering
        return [read_message(row) for row in rows]


def _csv_bytes(rows: list[list[str]]) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    return text.getvalue().encode()


def _media_name(media: MediaFacts) -> str:
    return f"media/{media.media_id}"


def _eml_name(message: Message) -> str:
    stored = message.stored
    room, event = _NOT_NAME_SAFE.sub("_", stored.room_id), _NOT_NAME_SAFE.sub("_", stored.event_id)
    return f"{room}/{stored.stream_ordering:012d}-{event}.eml"  # inside an eml/part-NNNNN.zip
