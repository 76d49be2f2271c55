"""Uploads and downloads: who may store bytes under which media ID, and who may read them.

Invariants:
- Bytes become downloadable only when their `media` row says uploaded, and the row is written in
  the same transaction that moves the staged file into place; a refused or failed upload leaves
  neither a row nor a file.
- An upload is refused with 413 M_TOO_LARGE as soon as its byte count passes the limit (or its
  declared length does), before the rest is read.
- A reserved media ID (POST /create) belongs to its creator, is uploaded at most once (the store's
  `uploaded_ts IS NULL` guard decides races), and lapses after `RESERVATION_LIFETIME_MS`.
- Stored content types and names are metadata only: they never name a file (see storage.py).
- A download of a reserved but not yet uploaded ID waits up to its `timeout_ms` (at most
  `MAX_DOWNLOAD_WAIT_MS`) and is woken by the upload right after it commits (pending.py); it is
  504 M_NOT_YET_UPLOADED only when the wait runs out first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from bastion.clock import Clock
from bastion.config import MediaConfig
from bastion.errors import Errcode, MatrixError
from bastion.services.media.mxc import content_uri, new_media_id, require_local_media_id
from bastion.services.media.pending import PendingUploads
from bastion.services.media.storage import MediaStorage, StagedFile, StorageKey, StoredFile
from bastion.services.principal import Requester
from bastion.store.database import Database, Queryable
from bastion.store.protocols import MediaStore
from bastion.store.records import MediaRecord

log = logging.getLogger(__name__)

RESERVATION_LIFETIME_MS = 24 * 60 * 60 * 1000  # spec: the recommended 24 hours
MAX_PENDING_RESERVATIONS = 50  # per user; spec asks to bound pending uploads (429)
MAX_CONTENT_TYPE_LENGTH = 255
MAX_FILENAME_LENGTH = 255
DEFAULT_CONTENT_TYPE = "application/octet-stream"
DEFAULT_DOWNLOAD_WAIT_MS = 20_000  # spec: the default of `timeout_ms`
MAX_DOWNLOAD_WAIT_MS = 60_000  # spec: "SHOULD impose a maximum value for this parameter"
ACCESS_GRANULARITY_MS = 60 * 60 * 1000  # how precisely a file's last access is kept


@dataclass(frozen=True, slots=True)
class UploadInfo:
    """What an upload request says about its file, before the bytes."""

    content_type: str | None
    filename: str | None
    declared_length: int | None  # Content-Length, when the client sent one


@dataclass(frozen=True, slots=True)
class Reservation:
    """A media ID created for a later upload."""

    content_uri: str
    unused_expires_at: int


@dataclass(frozen=True, slots=True)
class Download:
    """Uploaded media opened for reading, with what its headers need."""

    media: MediaRecord
    file: StoredFile

    @property
    def content_type(self) -> str:
        return self.media.content_type or DEFAULT_CONTENT_TYPE


class MediaService:
    """Creates media IDs, stores uploads, and opens uploaded media for download."""

    def __init__(
        self,
        db: Database,
        media: MediaStore,
        storage: MediaStorage,
        clock: Clock,
        config: MediaConfig,
        *,
        server_name: str,
    ) -> None:
        self._db = db
        self._media = media
        self._storage = storage
        self._clock = clock
        self._config = config
        self._server_name = server_name
        self._pending = PendingUploads()

    @property
    def max_upload_bytes(self) -> int:
        """The upload size limit (advertised as `m.upload.size`)."""
        return self._config.max_upload_bytes

    @property
    def allow_legacy_unauthenticated(self) -> bool:
        """Whether the deprecated /_matrix/media download endpoints serve without a token."""
        return self._config.allow_legacy_unauthenticated

    async def create(self, requester: Requester) -> Reservation:
        """Reserve a media ID for `requester` to upload to later (POST /create)."""
        now = self._clock.now_ms()
        async with self._db.transaction() as txn:
            await self._media.delete_expired_reservations(txn, requester.user_id, now)
            if await self._media.count_pending(txn, requester.user_id, now) >= (
                MAX_PENDING_RESERVATIONS
            ):
                raise MatrixError(
                    429,
                    Errcode.LIMIT_EXCEEDED,
                    f"too many pending uploads (at most {MAX_PENDING_RESERVATIONS})",
                    {"retry_after_ms": 60_000},
                )
            media_id = new_media_id()
            expires = now + RESERVATION_LIFETIME_MS
            await self._media.insert_media(
                txn,
                MediaRecord(
                    media_id=media_id, user_id=requester.user_id, created_ts=now,
                    unused_expires_ts=expires, uploaded_ts=None, content_type=None,
                    upload_name=None, size=None, sha256=None,
                ),
            )  # fmt: skip
        return Reservation(content_uri(self._server_name, media_id), expires)

    async def upload(
        self, requester: Requester, info: UploadInfo, body: AsyncIterable[bytes]
    ) -> str:
        """Store a new file under a fresh media ID (POST /upload); returns its `mxc://` URI."""
        content_type, filename = self._check_info(info)
        staged = await self._storage.stage(self._limited(body))
        media_id = new_media_id()
        now = self._clock.now_ms()
        record = MediaRecord(
            media_id=media_id, user_id=requester.user_id, created_ts=now,
            unused_expires_ts=None, uploaded_ts=now, content_type=content_type,
            upload_name=filename, size=staged.size, sha256=staged.sha256,
        )  # fmt: skip
        try:
            async with self._db.transaction() as txn:
                await self._refuse_quarantined(txn, staged)
                await self._media.insert_media(txn, record)
                await self._storage.commit(staged, StorageKey(media_id))
        except BaseException:
            await self._storage.discard(staged)
            raise
        return content_uri(self._server_name, media_id)

    async def upload_reserved(
        self,
        requester: Requester,
        server_name: str,
        media_id: str,
        info: UploadInfo,
        body: AsyncIterable[bytes],
    ) -> None:
        """Store the file of a media ID reserved earlier (PUT /upload/{serverName}/{mediaId})."""
        media_id = require_local_media_id(self._server_name, server_name, media_id)
        content_type, filename = self._check_info(info)
        self._check_reservation(requester, await self._media.get_media(self._db, media_id))
        staged = await self._storage.stage(self._limited(body))
        try:
            await self._claim(requester, media_id, content_type, filename, staged)
        except BaseException:
            await self._storage.discard(staged)
            raise
        self._pending.uploaded(media_id)  # after commit: waiting downloads now find the row

    async def download(
        self, server_name: str, media_id: str, *, timeout_ms: int = DEFAULT_DOWNLOAD_WAIT_MS
    ) -> Download:
        """Uploaded media opened for reading; 404 M_NOT_FOUND when there is none."""
        media = await self.uploaded_media(server_name, media_id, timeout_ms=timeout_ms)
        file = await self._storage.open(StorageKey(media.media_id))
        if file is None:
            log.error("media %s is recorded as uploaded but its file is missing", media.media_id)
            raise MatrixError(404, Errcode.NOT_FOUND, "unknown media ID")
        return Download(media, file)

    async def uploaded_media(
        self, server_name: str, media_id: str, *, timeout_ms: int = DEFAULT_DOWNLOAD_WAIT_MS
    ) -> MediaRecord:
        """The row of uploaded media, waiting up to `timeout_ms` for a reserved ID's upload.

        Raises:
            MatrixError: 404 M_NOT_FOUND for unknown or lapsed IDs; 504 M_NOT_YET_UPLOADED
                when a reserved ID is still empty after the wait.
        """
        media_id = require_local_media_id(self._server_name, server_name, media_id)
        media = await self._known_media(media_id)
        wait_ms = max(0, min(timeout_ms, MAX_DOWNLOAD_WAIT_MS))
        if media.uploaded_ts is None and wait_ms > 0:
            media = await self._wait_for_upload(media_id, wait_ms)
        if media.uploaded_ts is None:
            raise MatrixError(504, Errcode.NOT_YET_UPLOADED, "the content is not uploaded yet")
        await self._mark_accessed(media)
        return media

    @property
    def waiting_downloads(self) -> int:
        """How many downloads are waiting for an upload."""
        return self._pending.waiting()

    async def _wait_for_upload(self, media_id: str, wait_ms: int) -> MediaRecord:
        with self._pending.watch(media_id) as uploaded:
            # Read again now that the wake-up is registered: the PUT may have just committed.
            media = await self._known_media(media_id)
            if media.uploaded_ts is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(uploaded.wait(), wait_ms / 1000)
                media = await self._known_media(media_id)
        return media

    async def _known_media(self, media_id: str) -> MediaRecord:
        """The row of an upload or live reservation; 404 M_NOT_FOUND otherwise, and for a file
        an admin quarantined (services/media/admin.py): every download and thumbnail asks here."""
        media = await self._media.get_media(self._db, media_id)
        if media is None or self._has_lapsed(media) or media.quarantined_ts is not None:
            raise MatrixError(404, Errcode.NOT_FOUND, "unknown media ID")
        return media

    async def _mark_accessed(self, media: MediaRecord) -> None:
        """Note that the file is being served, at most once per `ACCESS_GRANULARITY_MS` (a write
        per download would cost the single SQLite writer), so that deleting files unused since a
        date (services/media/admin.py) spares the old ones still in use."""
        now = self._clock.now_ms()
        if media.last_access_ts is None or now - media.last_access_ts >= ACCESS_GRANULARITY_MS:
            await self._media.mark_accessed(self._db, media.media_id, now)

    async def _refuse_quarantined(self, txn: Queryable, staged: StagedFile) -> None:
        """403 for the bytes of a quarantined file: taken out of reach, not to be shared again."""
        if await self._media.quarantined_file(txn, staged.sha256):
            raise MatrixError(
                403, Errcode.FORBIDDEN, "this file was taken down by an administrator"
            )

    async def _claim(
        self,
        requester: Requester,
        media_id: str,
        content_type: str,
        filename: str | None,
        staged: StagedFile,
    ) -> None:
        record = MediaRecord(
            media_id=media_id, user_id=requester.user_id, created_ts=0, unused_expires_ts=None,
            uploaded_ts=self._clock.now_ms(), content_type=content_type, upload_name=filename,
            size=staged.size, sha256=staged.sha256,
        )  # fmt: skip
        async with self._db.transaction() as txn:
            # Checked again: the reservation may have been used or lapsed while bytes streamed.
            self._check_reservation(requester, await self._media.get_media(txn, media_id))
            await self._refuse_quarantined(txn, staged)
            if not await self._media.set_uploaded(txn, record):
                raise _already_uploaded()
            await self._storage.commit(staged, StorageKey(media_id))

    def _check_reservation(self, requester: Requester, media: MediaRecord | None) -> None:
        if media is None or (media.uploaded_ts is None and self._has_lapsed(media)):
            raise MatrixError(404, Errcode.NOT_FOUND, "unknown or expired media ID")
        if media.user_id != requester.user_id:
            raise MatrixError(403, Errcode.FORBIDDEN, "this media ID was created by someone else")
        if media.uploaded_ts is not None:
            raise _already_uploaded()

    def _has_lapsed(self, media: MediaRecord) -> bool:
        expires = media.unused_expires_ts
        return media.uploaded_ts is None and expires is not None and expires <= self._clock.now_ms()

    def _check_info(self, info: UploadInfo) -> tuple[str, str | None]:
        """The content type and file name to store; 400 or 413 before any byte is read."""
        limit = self._config.max_upload_bytes
        if info.declared_length is not None and info.declared_length > limit:
            raise _too_large(limit)
        content_type = info.content_type or DEFAULT_CONTENT_TYPE
        if len(content_type) > MAX_CONTENT_TYPE_LENGTH or not _is_header_safe(content_type):
            raise MatrixError(400, Errcode.INVALID_PARAM, "Content-Type is not a valid media type")
        filename = info.filename or None
        if filename is not None and (
            len(filename) > MAX_FILENAME_LENGTH or not filename.isprintable()
        ):
            raise MatrixError(400, Errcode.INVALID_PARAM, "filename is too long or not printable")
        return content_type, filename

    async def _limited(self, body: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        """`body`, refused with 413 the moment it passes the limit."""
        limit = self._config.max_upload_bytes
        received = 0
        async for chunk in body:
            received += len(chunk)
            if received > limit:
                raise _too_large(limit)
            yield chunk


def _is_header_safe(value: str) -> bool:
    """Printable ASCII only: the value is echoed back as a response header."""
    return value.isascii() and value.isprintable() and "/" in value


def _too_large(limit: int) -> MatrixError:
    return MatrixError(413, Errcode.TOO_LARGE, f"files larger than {limit} bytes are refused")


def _already_uploaded() -> MatrixError:
    return MatrixError(409, Errcode.CANNOT_OVERWRITE_MEDIA, "this media ID already has content")
