"""Where media bytes live: a small storage interface and its local-folder backend.

The interface is two-phase so that the database decides what becomes visible: `stage` streams
bytes to a temporary place (counting and hashing them), then `commit` moves them under their key
(or `discard` throws them away). An S3-compatible backend fits the same shape (multipart upload,
then complete or abort).

Invariants of `LocalDirectoryStorage`:
- Every path is built from a `StorageKey`, whose parts match `[A-Za-z0-9_-]{1,255}`; nothing a
  client chose (file names, content types) ever becomes part of a path, so `..` cannot occur.
- A file appears under its key whole or not at all: it is written to `<root>/tmp/` (the same
  filesystem) and renamed into place, and a failed or refused stage deletes its temporary file.
- Memory is bounded by `CHUNK_SIZE` whatever the file size: bytes stream both ways, and disk I/O
  and hashing run in worker threads so the event loop keeps serving.
- Files are not fsynced: like SQLite in `synchronous=normal`, they survive the process dying but
  not the machine losing power.
- Only the server's user can read what is stored: files are created 0600 and keep that mode when
  renamed into place, folders are created 0700 (`private_files.py`).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from bastion.private_files import create_private_file, make_private_folder
from bastion.store.protocols.compliance import DeletedMedia

CHUNK_SIZE = 1 << 20
_KEY_PART = re.compile(r"[A-Za-z0-9_-]{1,255}")


@dataclass(frozen=True, slots=True)
class StorageKey:
    """Names one stored object: an original file, or one variant (thumbnail) of it."""

    media_id: str
    variant: str = ""  # "" is the original; a thumbnail is e.g. "320x240-scale"

    @classmethod
    def thumbnail(cls, media_id: str, width: int, height: int, method: str) -> StorageKey:
        """The key of a generated thumbnail."""
        return cls(media_id, f"{width}x{height}-{method}")

    def __post_init__(self) -> None:
        # Callers validate media IDs first; this is the last line before the filesystem.
        if _KEY_PART.fullmatch(self.media_id) is None:
            raise ValueError(f"invalid media ID {self.media_id!r} for storage")
        if self.variant and _KEY_PART.fullmatch(self.variant) is None:
            raise ValueError(f"invalid variant {self.variant!r} for storage")


@dataclass(frozen=True, slots=True)
class StagedFile:
    """Bytes written to a temporary place, waiting for `commit` or `discard`."""

    handle: str  # backend-specific: the temporary file's path for the local backend
    size: int
    sha256: str


class StoredFile(Protocol):
    """A stored object opened for reading."""

    @property
    def size(self) -> int:
        """Length in bytes."""
        ...

    def chunks(self) -> AsyncIterator[bytes]:
        """The bytes, in order, at most `CHUNK_SIZE` at a time."""
        ...


class MediaStorage(Protocol):
    """Where the media repository keeps bytes."""

    async def stage(self, chunks: AsyncIterable[bytes]) -> StagedFile:
        """Store `chunks` temporarily; if iterating them raises, nothing is left behind."""
        ...

    async def commit(self, staged: StagedFile, key: StorageKey) -> None:
        """Make the staged bytes the object under `key` (replacing any), atomically."""
        ...

    async def discard(self, staged: StagedFile) -> None:
        """Throw staged bytes away."""
        ...

    async def open(self, key: StorageKey) -> StoredFile | None:
        """The object under `key`, or None if there is none."""
        ...

    async def delete(self, key: StorageKey) -> None:
        """Remove the object under `key` if it exists."""
        ...


@dataclass(frozen=True, slots=True)
class _LocalFile:
    path: Path
    size: int

    async def chunks(self) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(self.path.open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_SIZE):
                yield chunk
        finally:
            handle.close()


class _Writer:
    """A temporary file being written and hashed, a chunk at a time, in worker threads."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.size = 0
        self.hash = hashlib.sha256()

    def write(self, data: bytes | bytearray) -> None:
        self.handle.write(data)
        self.hash.update(data)  # hashlib releases the GIL on large buffers
        self.size += len(data)


def _create_for_writing(path: Path) -> BinaryIO:
    return os.fdopen(create_private_file(path), "wb")


class LocalDirectoryStorage:
    """Files in a folder: originals in `content/`, thumbnails in `thumbnails/`, partials in `tmp/`.

    The folders are created on first write, so a server that never sees an upload creates none.
    """

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()
        self._tmp = self._root / "tmp"

    def path_of(self, key: StorageKey) -> Path:
        """Where `key` lives: sharded by the first characters of the media ID."""
        media_id = key.media_id
        shard = [media_id[:2], media_id[2:4]] if len(media_id) >= 4 else ["_"]
        if key.variant:
            return self._root.joinpath("thumbnails", *shard, media_id, key.variant)
        return self._root.joinpath("content", *shard, media_id)

    async def stage(self, chunks: AsyncIterable[bytes]) -> StagedFile:
        await asyncio.to_thread(make_private_folder, self._tmp)
        path = self._tmp / f"{secrets.token_urlsafe(16)}.part"
        handle = await asyncio.to_thread(_create_for_writing, path)
        writer = _Writer(handle)
        try:
            buffer = bytearray()
            async for chunk in chunks:
                buffer += chunk
                if len(buffer) >= CHUNK_SIZE:
                    await asyncio.to_thread(writer.write, buffer)
                    buffer = bytearray()
            await asyncio.to_thread(writer.write, buffer)
        except BaseException:
            handle.close()
            await asyncio.to_thread(path.unlink, missing_ok=True)
            raise
        handle.close()
        return StagedFile(handle=str(path), size=writer.size, sha256=writer.hash.hexdigest())

    async def commit(self, staged: StagedFile, key: StorageKey) -> None:
        target = self.path_of(key)
        await asyncio.to_thread(make_private_folder, target.parent)
        await asyncio.to_thread(os.replace, staged.handle, target)

    async def discard(self, staged: StagedFile) -> None:
        await asyncio.to_thread(Path(staged.handle).unlink, missing_ok=True)

    async def open(self, key: StorageKey) -> StoredFile | None:
        path = self.path_of(key)
        try:
            stat = await asyncio.to_thread(path.stat)
        except FileNotFoundError:
            return None
        return _LocalFile(path, stat.st_size)

    async def delete(self, key: StorageKey) -> None:
        await asyncio.to_thread(self.path_of(key).unlink, missing_ok=True)


async def remove_stored_files(storage: MediaStorage, deleted: Sequence[DeletedMedia]) -> None:
    """The bytes of media whose rows a committed transaction deleted: each original and its
    thumbnails (the retention purge, an admin's deletion, an erased account's uploads). A crash
    before this leaves files without rows, never served; never a row without its file."""
    for item in deleted:
        await storage.delete(StorageKey(item.media_id))
        for width, height, method in item.thumbnails:
            await storage.delete(StorageKey.thumbnail(item.media_id, width, height, method))
