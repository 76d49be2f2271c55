"""Where an export's files go: a zip archive (admin API jobs) or a folder (`bastion export`).

Invariants:
- Streaming: an entry is written a chunk at a time and hashed as it is written; nothing holds a
  whole file. The manifest's lines are spooled to a temporary file as entries close and copied
  into `manifest.json` at the end, so the manifest costs no memory per file either (zipfile
  itself keeps a few hundred bytes of central directory per entry: so entries must stay few;
  EML packs its messages into inner zip parts, eml_parts.py).
- One entry open at a time (zipfile's rule); `entry()` is a context manager.
- `manifest.json` is written last and is not listed in itself; every other file is, with its
  SHA-256 and size.
- Private: the archive file is created 0600, folders 0700 (private_files.py).

These do blocking file I/O: callers run them in a worker thread (asyncio.to_thread).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any, Protocol

from bastion.private_files import create_private_file, make_private_folder

MANIFEST = "manifest.json"
_COPY_CHUNK = 1 << 16


class Entry:
    """A file being written: bytes go to the destination and the hash."""

    def __init__(self, sink: IO[bytes]) -> None:
        self._sink = sink
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._sink.write(data)
        self._hash.update(data)
        self.size += len(data)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


class Archive(Protocol):
    """A destination for an export's files."""

    def has(self, name: str) -> bool:
        """Whether a file of that name was written."""
        ...

    def entry(self, name: str, *, compress: bool = True) -> AbstractContextManager[Entry]:
        """A context manager yielding an `Entry` to write file `name` into.

        `compress=False` for data that is compressed already (an inner zip part).
        """
        ...

    def finish(self, header: dict[str, Any]) -> None:
        """Write `manifest.json` (`header` plus `files`) and close."""
        ...

    def abort(self) -> None:
        """Close without a manifest (the caller removes what was written)."""
        ...


class _Manifest:
    """The manifest's file lines, spooled to a temporary file as entries close."""

    def __init__(self) -> None:
        self._spool = tempfile.TemporaryFile(mode="w+b")  # noqa: SIM115 (closed in write_to)
        self._count = 0

    def add(self, name: str, entry: Entry) -> None:
        line = {"name": name, "sha256": entry.sha256, "bytes": entry.size}
        self._spool.write((b",\n" if self._count else b"\n") + json.dumps(line).encode())
        self._count += 1

    def write_to(self, out: Entry, header: dict[str, Any]) -> None:
        head = json.dumps({**header, "file_count": self._count}, ensure_ascii=False, indent=1)
        out.write(head[:-2].encode() + b',\n "files": [')
        self._spool.seek(0)
        while chunk := self._spool.read(_COPY_CHUNK):
            out.write(chunk)
        out.write(b"\n ]\n}\n")
        self._spool.close()

    def close(self) -> None:
        self._spool.close()


class ZipArchive:
    """A zip file written entry by entry (ZIP64 allowed, deflated)."""

    def __init__(self, path: Path) -> None:
        make_private_folder(path.parent)
        path.unlink(missing_ok=True)  # a partial file left by a stopped run
        self._file = os.fdopen(create_private_file(path), "wb")
        self._zip = zipfile.ZipFile(self._file, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self._manifest = _Manifest()

    def has(self, name: str) -> bool:
        try:
            self._zip.getinfo(name)
        except KeyError:
            return False
        return True

    @contextmanager
    def entry(self, name: str, *, compress: bool = True) -> Iterator[Entry]:
        target: str | zipfile.ZipInfo = name
        if not compress:
            target = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
            target.compress_type = zipfile.ZIP_STORED
            target.external_attr = 0o600 << 16  # as zipfile does for a name
        with self._zip.open(target, "w", force_zip64=True) as sink:
            entry = Entry(sink)
            yield entry
        self._manifest.add(name, entry)

    def finish(self, header: dict[str, Any]) -> None:
        with self._zip.open(MANIFEST, "w") as sink:
            self._manifest.write_to(Entry(sink), header)
        self._zip.close()
        self._file.close()

    def abort(self) -> None:
        self._manifest.close()
        self._zip.close()
        self._file.close()


class FolderArchive:
    """Plain files under a folder (which must not exist yet, or be empty)."""

    def __init__(self, root: Path) -> None:
        if root.exists() and any(root.iterdir()):
            raise FileExistsError(f"{root} is not empty")
        make_private_folder(root)
        self._root = root
        self._manifest = _Manifest()

    def _path(self, name: str) -> Path:
        path = self._root / name
        make_private_folder(path.parent)
        return path

    def has(self, name: str) -> bool:
        return (self._root / name).exists()

    @contextmanager
    def entry(self, name: str, *, compress: bool = True) -> Iterator[Entry]:
        with os.fdopen(create_private_file(self._path(name)), "wb") as sink:
            entry = Entry(sink)
            yield entry
        self._manifest.add(name, entry)

    def finish(self, header: dict[str, Any]) -> None:
        with os.fdopen(create_private_file(self._root / MANIFEST), "wb") as sink:
            self._manifest.write_to(Entry(sink), header)

    def abort(self) -> None:
        self._manifest.close()
