"""Thumbnails of uploaded images: generated once per (media, width, height, method), then cached.

Invariants:
- Only uploaded media with an image content type we decode is thumbnailed, and only when the file
  is at most `MAX_SOURCE_BYTES`: the source is read whole into memory for Pillow.
- Rendering runs in a worker thread, at most `MAX_CONCURRENT_RENDERS` at once, so neither the
  event loop nor memory is at the mercy of a burst of thumbnail requests.
- The cache is the file under `StorageKey(media_id, "<w>x<h>-<method>")` plus its
  `media_thumbnails` row; the row is written after the file is in place, so a row always has a
  file. Two requests racing to make the same thumbnail both render it; the results are identical.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import get_args

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.services.media.render import (
    ImageTooLarge,
    Method,
    Rendered,
    UnreadableImage,
    render_thumbnail,
)
from bastion.services.media.service import DEFAULT_DOWNLOAD_WAIT_MS, MediaService
from bastion.services.media.storage import MediaStorage, StorageKey, StoredFile
from bastion.store.database import Database
from bastion.store.protocols import MediaStore
from bastion.store.records import MediaRecord, ThumbnailRecord

MAX_DIMENSION = 1600
MAX_SOURCE_BYTES = 32 * 1024 * 1024
MAX_CONCURRENT_RENDERS = 2
THUMBNAIL_SOURCE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
METHODS: tuple[Method, ...] = get_args(Method)


@dataclass(frozen=True, slots=True)
class ThumbnailRequest:
    """What the client asked for (spec: the desired size; the result may differ)."""

    width: int
    height: int
    method: str
    timeout_ms: int = DEFAULT_DOWNLOAD_WAIT_MS  # how long to wait for a pending upload


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """A thumbnail opened for reading."""

    content_type: str
    file: StoredFile


class ThumbnailService:
    """Serves thumbnails from the cache, rendering the missing ones."""

    def __init__(
        self,
        db: Database,
        media: MediaStore,
        storage: MediaStorage,
        uploads: MediaService,
        clock: Clock,
    ) -> None:
        self._db = db
        self._media = media
        self._storage = storage
        self._uploads = uploads
        self._clock = clock
        self._renders = asyncio.Semaphore(MAX_CONCURRENT_RENDERS)

    async def thumbnail(
        self, server_name: str, media_id: str, wanted: ThumbnailRequest
    ) -> Thumbnail:
        """A thumbnail of uploaded media, from the cache or rendered now."""
        method = _check_request(wanted)
        media = await self._uploads.uploaded_media(
            server_name, media_id, timeout_ms=wanted.timeout_ms
        )
        key = StorageKey.thumbnail(media.media_id, wanted.width, wanted.height, method)
        cached = await self._media.get_thumbnail(
            self._db, media.media_id, wanted.width, wanted.height, method
        )
        if cached is not None and (file := await self._storage.open(key)) is not None:
            return Thumbnail(cached.content_type, file)
        rendered = await self._render(media, (wanted.width, wanted.height), method)
        await self._store(media, key, wanted, rendered)
        file = await self._storage.open(key)
        if file is None:  # deleted between writing and reading: nothing sensible to serve
            raise MatrixError(500, Errcode.UNKNOWN, "the thumbnail could not be stored")
        return Thumbnail(rendered.content_type, file)

    async def _render(
        self, media: MediaRecord, wanted: tuple[int, int], method: Method
    ) -> Rendered:
        content_type = (media.content_type or "").split(";")[0].strip().lower()
        if content_type not in THUMBNAIL_SOURCE_TYPES:
            raise _cannot_thumbnail(f"no thumbnails for {content_type or 'untyped'} content")
        if (media.size or 0) > MAX_SOURCE_BYTES:
            raise MatrixError(413, Errcode.TOO_LARGE, "the content is too large to thumbnail")
        source = await self._storage.open(StorageKey(media.media_id))
        if source is None:
            raise MatrixError(404, Errcode.NOT_FOUND, "unknown media ID")
        data = b"".join([chunk async for chunk in source.chunks()])
        async with self._renders:
            try:
                return await asyncio.to_thread(render_thumbnail, data, wanted, method)
            except ImageTooLarge as exc:
                raise MatrixError(
                    413, Errcode.TOO_LARGE, "the image is too large to thumbnail"
                ) from exc
            except UnreadableImage as exc:
                raise _cannot_thumbnail("the content is not an image we can read") from exc

    async def _store(
        self, media: MediaRecord, key: StorageKey, wanted: ThumbnailRequest, rendered: Rendered
    ) -> None:
        staged = await self._storage.stage(_once(rendered.data))
        await self._storage.commit(staged, key)
        record = ThumbnailRecord(
            media_id=media.media_id, width=wanted.width, height=wanted.height,
            method=wanted.method, content_type=rendered.content_type, size=len(rendered.data),
            created_ts=self._clock.now_ms(),
        )  # fmt: skip
        await self._media.insert_thumbnail(self._db, record)


def _check_request(wanted: ThumbnailRequest) -> Method:
    for name, value in (("width", wanted.width), ("height", wanted.height)):
        if not 1 <= value <= MAX_DIMENSION:
            raise MatrixError(
                400, Errcode.INVALID_PARAM, f"{name} must be between 1 and {MAX_DIMENSION}"
            )
    for method in METHODS:
        if wanted.method == method:
            return method
    raise MatrixError(400, Errcode.INVALID_PARAM, "method must be 'scale' or 'crop'")


def _cannot_thumbnail(message: str) -> MatrixError:
    # spec: 400 "the server cannot thumbnail the content" (example errcode M_UNKNOWN)
    return MatrixError(400, Errcode.UNKNOWN, message)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
