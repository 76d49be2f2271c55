"""EML messages packed into inner zip parts, so an EML export's memory stays bounded.

An EML export is one RFC 5322 message per chat message. Written as one entry each in the
downloaded zip, zipfile would keep a central-directory record (~550 bytes) per message in memory
until the zip closes: memory growing with the export's size. Instead:

- Messages go into an inner zip, `eml/part-00001.zip`, `eml/part-00002.zip`, ... of at most
  `part_size` messages each (5,000 by default), named `<room>/<stream>-<event>.eml` inside.
- The inner zip is written to an anonymous temporary file on disk (deflated); when full (or at
  the end) it is closed and copied a chunk at a time into the archive as ONE entry (stored, not
  compressed twice), hashed as it is copied, then the temporary file is dropped.

Invariants:
- Memory: one part's central directory (at most `part_size` records) plus the list of parts
  (one small tuple per part: 20 for 100,000 messages). Never one record per message of the export.
- Outer archive: ceil(messages / part_size) EML entries, each listed with its SHA-256 in the
  manifest (archive.py); `parts` says how many messages each part holds.
- One archive entry open at a time: a part is copied only between batches, never while another
  entry is open (writer.py keeps the conversation file for other formats only).

Blocking file I/O: called from a worker thread, like archive.py.
"""

from __future__ import annotations

import tempfile
import zipfile
from typing import IO

from bastion.services.export.archive import Archive

PART_SIZE = 5_000
_COPY_CHUNK = 1 << 16


class EmlParts:
    """Collects `.eml` files into inner zip parts and adds each full part to the archive."""

    def __init__(self, archive: Archive, part_size: int = PART_SIZE) -> None:
        if part_size < 1:
            raise ValueError(f"part_size must be at least 1, not {part_size}")
        self._archive = archive
        self._part_size = part_size
        self._file: IO[bytes] | None = None
        self._zip: zipfile.ZipFile | None = None
        self._count = 0
        self.parts: list[tuple[str, int]] = []  # (archive name, messages in it)

    def add(self, name: str, data: bytes) -> None:
        """Add one message as `name` inside the current part (a new part when full)."""
        if self._zip is None:
            self._file = tempfile.TemporaryFile()  # noqa: SIM115 (closed in flush/close)
            self._zip = zipfile.ZipFile(self._file, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self._zip.writestr(name, data)
        self._count += 1
        if self._count >= self._part_size:
            self.flush()

    def flush(self) -> None:
        """Close the current part (if any) and copy it into the archive as one entry."""
        if self._zip is None or self._file is None:
            return
        self._zip.close()
        name = f"eml/part-{len(self.parts) + 1:05d}.zip"
        self._file.seek(0)
        with self._archive.entry(name, compress=False) as entry:
            while chunk := self._file.read(_COPY_CHUNK):
                entry.write(chunk)
        self.parts.append((name, self._count))
        self.close()

    def close(self) -> None:
        """Drop the current part without adding it (after `flush`, or on failure)."""
        if self._zip is not None:
            self._zip.close()
        if self._file is not None:
            self._file.close()
        self._zip, self._file, self._count = None, None, 0
