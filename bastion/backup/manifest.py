"""`manifest.json`: what a backup holds, with the SHA-256 of every file.

Invariant: `files` lists every file of the backup except `manifest.json` itself, by its path
relative to the backup folder (POSIX separators), with the hash and size of the bytes stored;
an encrypted file also carries the hash of its plaintext, checked after decryption.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import msgspec

from bastion.backup.errors import BackupError
from bastion.private_files import create_private_file

FORMAT = "bastion-backup"
VERSION = 1
MANIFEST_NAME = "manifest.json"
CHUNK_SIZE = 1 << 20


class Counts(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Rows in the database snapshot: what verify expects to find after restoring."""

    users: int
    rooms: int
    events: int
    media: int  # uploaded media (reservations have no file)

    def describe(self) -> str:
        return f"{self.users} users, {self.rooms} rooms, {self.events} events, {self.media} media"


class FileEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    sha256: str
    size: int
    plain_sha256: str | None = None  # the plaintext's, for an encrypted file


class Manifest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    format: str
    version: int
    created_ms: int
    server_name: str
    database: str  # "sqlite" | "postgres"
    schema: str  # PostgreSQL schema dumped ("" = the whole database)
    encrypted: bool
    passphrase: bool  # key.age holds an identity protected by a passphrase
    counts: Counts
    files: dict[str, FileEntry]


def sha256_of(path: Path) -> tuple[str, int]:
    """The hex SHA-256 and size of a file, read in bounded chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def copy_private(source: Path, target: Path) -> str:
    """Copy `source` to a new 0600 file `target`; returns the SHA-256 of what was copied."""
    digest = hashlib.sha256()
    with source.open("rb") as reader, os.fdopen(create_private_file(target), "wb") as writer:
        while chunk := reader.read(CHUNK_SIZE):
            digest.update(chunk)
            writer.write(chunk)
    return digest.hexdigest()


def write_manifest(folder: Path, manifest: Manifest) -> None:
    fd = create_private_file(folder / MANIFEST_NAME)
    with os.fdopen(fd, "wb") as handle:
        handle.write(msgspec.json.format(msgspec.json.encode(manifest), indent=2) + b"\n")


def read_manifest(folder: Path) -> Manifest:
    """The manifest of the backup in `folder`; BackupError if there is none or it is invalid."""
    path = folder / MANIFEST_NAME
    try:
        manifest = msgspec.json.decode(path.read_bytes(), type=Manifest)
    except FileNotFoundError:
        raise BackupError(f"{folder} is not a Bastion backup (no {MANIFEST_NAME})") from None
    except (OSError, msgspec.DecodeError) as exc:
        raise BackupError(f"{path} is unreadable or not a backup manifest: {exc}") from None
    if manifest.format != FORMAT or manifest.version != VERSION:
        raise BackupError(f"{path}: unsupported backup format {manifest.format} {manifest.version}")
    return manifest


def check_files(folder: Path, manifest: Manifest) -> None:
    """Every file the manifest names is there with its hash, and no other file is.

    Raises:
        BackupError: naming the first file that is missing, altered or unexpected.
    """
    for name, entry in sorted(manifest.files.items()):
        path = _inside(folder, name)
        if not path.is_file():
            raise BackupError(f"backup damaged: {name} is missing")
        digest, size = sha256_of(path)
        if digest != entry.sha256 or size != entry.size:
            raise BackupError(f"backup damaged: {name} does not match its SHA-256 in the manifest")
    listed = set(manifest.files) | {MANIFEST_NAME}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_file() and name not in listed:
            raise BackupError(f"backup damaged: {name} is not in the manifest")


def _inside(folder: Path, name: str) -> Path:
    """`folder / name`, refusing a manifest name that would point outside the folder."""
    path = (folder / name).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise BackupError(f"backup damaged: the manifest names {name!r}, outside the backup")
    return path
