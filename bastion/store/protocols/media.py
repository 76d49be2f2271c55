"""Media repository stores.

See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from typing import Protocol

from bastion.store.database import Queryable
from bastion.store.records import (
    MediaRecord,
    ThumbnailRecord,
)


class MediaStore(Protocol):
    """Media IDs (reservations and uploads) and their thumbnails."""

    async def insert_media(self, q: Queryable, media: MediaRecord) -> None: ...
    async def get_media(self, q: Queryable, media_id: str) -> MediaRecord | None: ...
    async def set_uploaded(self, q: Queryable, media: MediaRecord) -> bool: ...
    async def count_pending(self, q: Queryable, user_id: str, now_ms: int) -> int: ...
    async def delete_expired_reservations(self, q: Queryable, user_id: str, now_ms: int) -> int: ...
    async def get_thumbnail(
        self, q: Queryable, media_id: str, width: int, height: int, method: str
    ) -> ThumbnailRecord | None: ...
    async def insert_thumbnail(self, q: Queryable, thumbnail: ThumbnailRecord) -> None: ...
