"""SQL for the media repository: `media` (reservations and uploads) and `media_thumbnails`.

A row whose `uploaded_ts` is NULL is a reservation; `set_uploaded` turns it into an upload at most
once (the `uploaded_ts IS NULL` guard), which is what makes a second PUT a conflict even when two
race.
"""

from __future__ import annotations

from bastion.store.database import Queryable, Row
from bastion.store.protocols.compliance import DeletedMedia
from bastion.store.records import MediaRecord, ThumbnailRecord

_MEDIA_COLUMNS = (
    "media_id, user_id, created_ts, unused_expires_ts, uploaded_ts, content_type, upload_name,"
    " size, sha256"
)
_READ_COLUMNS = (
    f"{_MEDIA_COLUMNS}, quarantined_by, quarantined_ts, safe_from_quarantine, last_access_ts"
)
_THUMBNAIL_COLUMNS = "media_id, width, height, method, content_type, size, created_ts"


def _media(row: Row) -> MediaRecord:
    return MediaRecord(
        media_id=row[0],
        user_id=row[1],
        created_ts=row[2],
        unused_expires_ts=row[3],
        uploaded_ts=row[4],
        content_type=row[5],
        upload_name=row[6],
        size=row[7],
        sha256=row[8],
        quarantined_by=row[9],
        quarantined_ts=row[10],
        safe_from_quarantine=bool(row[11]),
        last_access_ts=row[12],
    )


async def delete_media_row(q: Queryable, media_id: str) -> DeletedMedia | None:
    """Delete a media row, its thumbnails' rows and its reference index rows; what was deleted
    (None: no such row), so the caller removes the files after its commit (admin deletion,
    retention purge, erasure)."""
    rows = await q.fetch_all(
        "SELECT width, height, method FROM media_thumbnails WHERE media_id = ?", media_id
    )
    await q.execute("DELETE FROM media_thumbnails WHERE media_id = ?", media_id)
    await q.execute("DELETE FROM media_references WHERE media_id = ?", media_id)
    if not await q.execute("DELETE FROM media WHERE media_id = ?", media_id):
        return None
    return DeletedMedia(media_id, [(int(r[0]), int(r[1]), str(r[2])) for r in rows])


class SqlMediaStore:
    """Media rows and thumbnail rows."""

    async def insert_media(self, q: Queryable, media: MediaRecord) -> None:
        await q.execute(
            f"INSERT INTO media ({_MEDIA_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            media.media_id,
            media.user_id,
            media.created_ts,
            media.unused_expires_ts,
            media.uploaded_ts,
            media.content_type,
            media.upload_name,
            media.size,
            media.sha256,
        )

    async def get_media(self, q: Queryable, media_id: str) -> MediaRecord | None:
        row = await q.fetch_one(f"SELECT {_READ_COLUMNS} FROM media WHERE media_id = ?", media_id)
        return None if row is None else _media(row)

    async def mark_accessed(self, q: Queryable, media_id: str, now_ms: int) -> None:
        """Record that the file was served now (services/media/service.py decides how often)."""
        await q.execute("UPDATE media SET last_access_ts = ? WHERE media_id = ?", now_ms, media_id)

    async def quarantined_file(self, q: Queryable, sha256: str) -> bool:
        """Is a file with these bytes quarantined (an upload of it is refused)?"""
        row = await q.fetch_one(
            "SELECT 1 FROM media WHERE sha256 = ? AND quarantined_ts IS NOT NULL LIMIT 1", sha256
        )
        return row is not None

    async def set_uploaded(self, q: Queryable, media: MediaRecord) -> bool:
        """Fill in a reservation's upload; False if it was uploaded already (or is gone)."""
        changed = await q.execute(
            "UPDATE media SET uploaded_ts = ?, unused_expires_ts = NULL, content_type = ?,"
            " upload_name = ?, size = ?, sha256 = ? WHERE media_id = ? AND uploaded_ts IS NULL",
            media.uploaded_ts,
            media.content_type,
            media.upload_name,
            media.size,
            media.sha256,
            media.media_id,
        )
        return changed > 0

    async def count_pending(self, q: Queryable, user_id: str, now_ms: int) -> int:
        """Reservations of `user_id` not yet uploaded and not yet expired."""
        value = await q.fetch_val(
            "SELECT COUNT(*) FROM media WHERE user_id = ? AND uploaded_ts IS NULL"
            " AND unused_expires_ts > ?",
            user_id,
            now_ms,
        )
        return int(value or 0)

    async def delete_expired_reservations(self, q: Queryable, user_id: str, now_ms: int) -> int:
        """Forget `user_id`'s reservations that lapsed unused; returns how many."""
        return await q.execute(
            "DELETE FROM media WHERE user_id = ? AND uploaded_ts IS NULL"
            " AND unused_expires_ts <= ?",
            user_id,
            now_ms,
        )

    async def get_thumbnail(
        self, q: Queryable, media_id: str, width: int, height: int, method: str
    ) -> ThumbnailRecord | None:
        row = await q.fetch_one(
            f"SELECT {_THUMBNAIL_COLUMNS} FROM media_thumbnails"
            " WHERE media_id = ? AND width = ? AND height = ? AND method = ?",
            media_id,
            width,
            height,
            method,
        )
        if row is None:
            return None
        return ThumbnailRecord(
            media_id=row[0],
            width=row[1],
            height=row[2],
            method=row[3],
            content_type=row[4],
            size=row[5],
            created_ts=row[6],
        )

    async def insert_thumbnail(self, q: Queryable, thumbnail: ThumbnailRecord) -> None:
        """Record a thumbnail; a concurrent request that made the same one first wins."""
        await q.execute(
            f"INSERT INTO media_thumbnails ({_THUMBNAIL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (media_id, width, height, method) DO NOTHING",
            thumbnail.media_id,
            thumbnail.width,
            thumbnail.height,
            thumbnail.method,
            thumbnail.content_type,
            thumbnail.size,
            thumbnail.created_ts,
        )
