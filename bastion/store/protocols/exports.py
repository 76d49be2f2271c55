"""Storage interface of compliance exports (migrations/0024_create_export_jobs.sql).

The export reads events on purpose without the client read door (an admin-only compliance read:
see services/export/ and docs/subsystems/read-door.md). Its reads page by `stream_ordering`
with a caller-given limit, so no call returns more than one bounded batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import msgspec

from bastion.store.database import Queryable


class ExportJobRow(msgspec.Struct, frozen=True, kw_only=True):
    """One export job as stored."""

    export_id: str
    kind: str  # conversations | subject
    status: str  # running | done | failed
    requested_by: str
    options: str  # the request, JSON
    done_events: int
    total_events: int
    files: str  # JSON list of top-level file names
    error: str | None
    created_ts: int
    updated_ts: int


class EventFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which events an export covers: every non-empty list narrows, the time range is
    `from_ts <= origin_server_ts < to_ts`."""

    rooms: Sequence[str] = ()
    senders: Sequence[str] = ()
    from_ts: int | None = None
    to_ts: int | None = None


class ExportedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A stored event with what compliance adds: the original of a redacted event and who
    redacted it when."""

    stream_ordering: int
    event_id: str
    room_id: str
    sender: str
    origin_server_ts: int
    pdu: str  # as stored (the redacted form once redacted)
    redacted_by: str | None
    redaction_sender: str | None
    redaction_ts: int | None
    original_pdu: str | None  # the hold store's copy first, else redacted_event_originals
    original_held: bool  # the original comes from the legal-hold store


class RoomFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What an export says about a room."""

    room_id: str
    room_version: str | None
    name: str | None
    encrypted: bool


class MediaFacts(msgspec.Struct, frozen=True, kw_only=True):
    """A local media file's metadata."""

    media_id: str
    sha256: str | None
    size: int | None
    content_type: str | None
    upload_name: str | None


class SubjectDevice(msgspec.Struct, frozen=True, kw_only=True):
    """A device of the data subject (no token, ever)."""

    device_id: str
    display_name: str | None
    created_ts: int
    last_seen_ts: int | None
    last_seen_ip: str | None


class SubjectRoom(msgspec.Struct, frozen=True, kw_only=True):
    """A room the data subject has a membership in."""

    room_id: str
    membership: str


class ExportStore(Protocol):
    """Export jobs and the compliance reads behind them."""

    async def insert_job(self, q: Queryable, job: ExportJobRow) -> None: ...

    async def get_job(self, q: Queryable, export_id: str) -> ExportJobRow | None: ...

    async def running_jobs(self, q: Queryable) -> list[ExportJobRow]:
        """Jobs not yet done or failed, oldest first."""
        ...

    async def set_progress(
        self, q: Queryable, export_id: str, done: int, total: int, now_ms: int
    ) -> None: ...

    async def finish_job(
        self, q: Queryable, export_id: str, *, status: str, files: str, error: str | None,
        now_ms: int,
    ) -> None: ...  # fmt: skip

    async def count_export_events(self, q: Queryable, selection: EventFilter) -> int: ...

    async def export_events(
        self, q: Queryable, selection: EventFilter, *, after: int, limit: int
    ) -> list[ExportedEvent]:
        """At most `limit` selected events after stream position `after`, in stream order."""
        ...

    async def room_facts(self, q: Queryable, room_id: str) -> RoomFacts: ...

    async def media_facts(self, q: Queryable, media_id: str) -> MediaFacts | None: ...

    async def subject_profile(
        self, q: Queryable, user_id: str
    ) -> tuple[str | None, str | None] | None:
        """(displayname, avatar_url), or None for an unknown user."""
        ...

    async def subject_profile_fields(self, q: Queryable, user_id: str) -> dict[str, Any]:
        """The subject's profile fields other than display name and avatar (`m.tz`, custom)."""
        ...

    async def subject_devices(self, q: Queryable, user_id: str) -> list[SubjectDevice]: ...

    async def subject_rooms(self, q: Queryable, user_id: str) -> list[SubjectRoom]: ...
