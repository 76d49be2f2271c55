"""A finished export's manifest, read back from its archive (the admin console shows it).

`manifest.json` is the archive's last entry (archive.py): the selection, the counts, and every
other file with its SHA-256 and size. Only a `done` job has one (a `done` job always has its
complete archive: jobs.py). Reading it checks the actor like `status` does and, like `status`,
is not audited: the archive's content stays in the archive, and downloading it is what
`export.download` records. At most `max_files` file lines are returned (an export with media
can list many thousands); `file_count` says how many there are.
"""

from __future__ import annotations

import asyncio
import json
import zipfile
from pathlib import Path
from typing import Any

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.services.export.archive import MANIFEST
from bastion.services.export.jobs import DONE, ComplianceExports
from bastion.services.principal import Principal


class ManifestFile(msgspec.Struct, frozen=True):
    """One file of the archive, as the manifest lists it."""

    name: str
    sha256: str
    bytes: int


class ExportManifest(msgspec.Struct, frozen=True, kw_only=True):
    """The manifest's header (selection, counts) and its first files."""

    header: dict[str, Any]
    files: list[ManifestFile]
    file_count: int


async def read_manifest(
    exports: ComplianceExports, actor: Principal, export_id: str, *, max_files: int = 200
) -> ExportManifest:
    """The manifest of a finished export; 404 unknown, 409 not finished."""
    status = await exports.status(actor, export_id)
    if status.status != DONE:
        raise MatrixError(409, Errcode.UNKNOWN, f"export {export_id} is {status.status}")
    path = exports.archive_path(export_id)
    if not path.is_file():
        raise MatrixError(404, Errcode.NOT_FOUND, f"the archive of {export_id} is gone")
    return await asyncio.to_thread(_read, path, max_files)


def _read(path: Path, max_files: int) -> ExportManifest:
    with zipfile.ZipFile(path) as archive:
        raw: dict[str, Any] = json.loads(archive.read(MANIFEST))
    listed = raw.pop("files", [])
    count = int(raw.pop("file_count", len(listed)))
    files = [ManifestFile(f["name"], f["sha256"], f["bytes"]) for f in listed[:max_files]]
    return ExportManifest(header=raw, files=files, file_count=count)
