"""Making a backup: the database snapshot, then the config, the signing key and the media.

The backup is written into a hidden sibling folder (0700) and renamed to `--out` only when its
manifest is written, so `--out` is a whole backup or nothing; on any failure the partial folder
is removed. With encryption, each file is written plain into the partial folder (0600) only
as long as it takes to encrypt it; media are encrypted straight from the media store.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
from pathlib import Path

from bastion.backup import databases
from bastion.backup.errors import BackupError
from bastion.backup.manifest import (
    FORMAT,
    VERSION,
    Counts,
    FileEntry,
    Manifest,
    copy_private,
    sha256_of,
    write_manifest,
)
from bastion.backup.sealing import KEY_FILE, SUFFIX, Sealer, Sealing
from bastion.config import Config, sqlite_path
from bastion.private_files import make_private_folder

DATABASE_SQLITE = "database.sqlite3"
DATABASE_POSTGRES = "database.pgdump"
CONFIG_FILE = "bastion.toml"
SIGNING_KEY = "signing.key"
MEDIA = "media"
MEDIA_PARTS = ("content", "thumbnails")  # not tmp/: uploads in flight are not media yet


def dialect_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite:///") else "postgres"


async def create_backup(
    config: Config, config_path: Path, out: Path, sealing: Sealing, *, now_ms: int
) -> Manifest:
    """Back up the server `config` describes into the new folder `out`."""
    partial = await asyncio.to_thread(_partial_folder, out)
    try:
        manifest = await _write(config, config_path, partial, sealing, now_ms)
        partial.rename(out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


def _partial_folder(out: Path) -> Path:
    """A new private folder beside `out`, renamed to `out` once the backup is whole."""
    if out.exists() or out.is_symlink():
        raise BackupError(f"{out} already exists: a backup goes into a new folder")
    if not out.parent.is_dir():
        raise BackupError(f"{out.parent} does not exist")
    partial = out.parent / f".{out.name}.partial-{secrets.token_hex(4)}"
    make_private_folder(partial)
    return partial


async def _write(
    config: Config, config_path: Path, folder: Path, sealing: Sealing, now_ms: int
) -> Manifest:
    writer = _Writer(folder, Sealer(sealing, folder) if sealing.encrypted else None)
    database = config.database
    dialect = dialect_of(database.url)
    counts: Counts
    if dialect == "sqlite":
        source = Path(sqlite_path(database.url))
        target = folder / DATABASE_SQLITE
        counts = await asyncio.to_thread(databases.snapshot_sqlite, source, target)
    else:
        target = folder / DATABASE_POSTGRES
        counts = await databases.dump_postgres(database.url, database.schema, target)
    await asyncio.to_thread(writer.add_staged, target)
    for source, name in ((config_path, CONFIG_FILE), (Path(config.signing_key_path), SIGNING_KEY)):
        await asyncio.to_thread(writer.add_copy, source, name)
    await asyncio.to_thread(writer.add_media, Path(config.media.store_path))
    if sealing.passphrase is not None:
        digest, size = sha256_of(folder / KEY_FILE)
        writer.entries[KEY_FILE] = FileEntry(digest, size)
    manifest = Manifest(
        format=FORMAT,
        version=VERSION,
        created_ms=now_ms,
        server_name=config.server_name,
        database=dialect,
        schema=database.schema if dialect == "postgres" else "",
        encrypted=sealing.encrypted,
        passphrase=sealing.passphrase is not None,
        counts=counts,
        files=writer.entries,
    )
    write_manifest(folder, manifest)
    return manifest


class _Writer:
    """Puts files into the backup folder (encrypted when a sealer is given) and lists them."""

    def __init__(self, folder: Path, sealer: Sealer | None) -> None:
        self._folder, self._sealer = folder, sealer
        self.entries: dict[str, FileEntry] = {}

    def add_staged(self, path: Path) -> None:
        """A file already written plain into the folder."""
        if self._sealer is None:
            self._list(path)
            return
        plain, _ = sha256_of(path)
        sealed = path.with_name(path.name + SUFFIX)
        self._sealer.seal(path, sealed)
        path.unlink()
        self._list(sealed, plain)

    def add_copy(self, source: Path, name: str) -> None:
        """The file `source`, under `name` in the backup."""
        if not source.is_file():
            raise BackupError(f"{source} does not exist")
        target = self._folder / name
        make_private_folder(target.parent)
        if self._sealer is None:
            copy_private(source, target)
            self._list(target)
            return
        plain, _ = sha256_of(source)
        sealed = target.with_name(target.name + SUFFIX)
        self._sealer.seal(source, sealed)
        self._list(sealed, plain)

    def add_media(self, root: Path) -> None:
        for part in MEDIA_PARTS:
            for source in sorted((root / part).rglob("*")):
                if source.is_file():
                    self.add_copy(source, f"{MEDIA}/{source.relative_to(root).as_posix()}")

    def _list(self, path: Path, plain_sha256: str | None = None) -> None:
        digest, size = sha256_of(path)
        name = path.relative_to(self._folder).as_posix()
        self.entries[name] = FileEntry(digest, size, plain_sha256)
