"""Media repository stores.

See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from bastion.store.database import Queryable
from bastion.store.protocols.compliance import DeletedMedia
from bastion.store.records import (
    MediaRecord,
    ThumbnailRecord,
)


class MediaStore(Protocol):
    """Media IDs (reservations and uploads) and their thumbnails."""

    async def insert_media(self, q: Queryable, media: MediaRecord) -> None: ...
    async def get_media(self, q: Queryable, media_id: str) -> MediaRecord | None: ...
    async def mark_accessed(self, q: Queryable, media_id: str, now_ms: int) -> None: ...
    async def quarantined_file(self, q: Queryable, sha256: str) -> bool: ...
    async def set_uploaded(self, q: Queryable, media: MediaRecord) -> bool: ...
    async def count_pending(self, q: Queryable, user_id: str, now_ms: int) -> int: ...
    async def delete_expired_reservations(self, q: Queryable, user_id: str, now_ms: int) -> int: ...
    async def get_thumbnail(
        self, q: Queryable, media_id: str, width: int, height: int, method: str
    ) -> ThumbnailRecord | None: ...
    async def insert_thumbnail(self, q: Queryable, thumbnail: ThumbnailRecord) -> None: ...


class MediaAdminStore(Protocol):
    """What admins do to media: quarantine, find, delete (store/sql/media_admin.py)."""

    async def set_quarantine(
        self, q: Queryable, media_ids: Sequence[str], by: str | None, now_ms: int
    ) -> int: ...
    async def same_files(self, q: Queryable, media_id: str) -> list[str]: ...
    async def uploads_of(self, q: Queryable, user_id: str) -> list[str]: ...
    async def room_contents(self, q: Queryable, room_id: str) -> list[str]: ...
    async def held_reference(self, q: Queryable, uri: str, uploader: str) -> bool: ...
    async def delete_media(self, q: Queryable, media_id: str) -> DeletedMedia | None: ...
    async def set_protected(self, q: Queryable, media_id: str, protected: bool) -> int: ...
    async def unused_uploads(self, q: Queryable, before_ts: int, size_gt: int) -> list[str]: ...
    async def profile_avatars(self, q: Queryable, prefix: str) -> list[str]: ...
    async def avatar_state(
        self, q: Queryable, prefix: str, after: int, limit: int
    ) -> list[tuple[int, str]]: ...


class MediaUsageQuery(msgspec.Struct, frozen=True):
    """A page of the users' media usage (Synapse's `statistics/users/media`)."""

    order_by: str  # user_id | displayname | media_length | media_count
    backwards: bool
    start: int
    limit: int
    from_ts: int | None = None  # files created at or after
    until_ts: int | None = None  # files created at or before
    search_term: str | None = None  # in the user ID or the display name


class MediaUsageRow(msgspec.Struct, frozen=True):
    """One uploader: how many files, how many bytes."""

    user_id: str
    displayname: str | None
    media_count: int
    media_length: int


class MediaUsageStore(Protocol):
    """Uploaded media counted per uploader (store/sql/media_usage.py)."""

    async def usage_by_user(
        self, q: Queryable, query: MediaUsageQuery
    ) -> tuple[list[MediaUsageRow], int]: ...
