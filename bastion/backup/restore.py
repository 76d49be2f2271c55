"""Restoring a backup into an empty folder (and, for PostgreSQL, an empty database).

Order: the manifest and every file's hash are checked first, so a tampered backup is refused
before anything is written; then each file is decrypted (or copied) and its plaintext hash
checked; then the database is restored; the config is written last, pointing at the restored
files (`bastion.db`, `bastion.signing.key`, `media/`) or at `--database-url`. A restore that
fails leaves the target folder as empty as it found it.
"""

from __future__ import annotations

import asyncio
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from bastion.backup import databases
from bastion.backup.create import (
    CONFIG_FILE,
    DATABASE_POSTGRES,
    DATABASE_SQLITE,
    MEDIA,
    SIGNING_KEY,
)
from bastion.backup.errors import BackupError
from bastion.backup.manifest import Manifest, check_files, copy_private, read_manifest, sha256_of
from bastion.backup.sealing import KEY_FILE, SUFFIX, Opener, Unsealing
from bastion.config import Config, ConfigError, render_toml, validate
from bastion.private_files import FILE_MODE, make_private_folder

RESTORED_CONFIG = "bastion.toml"
RESTORED_DATABASE = "bastion.db"
RESTORED_KEY = "bastion.signing.key"
RESTORED_MEDIA = "media"
_PENDING_DUMP = ".database.pgdump"
_PENDING_CONFIG = ".bastion.toml.backed-up"


@dataclass(frozen=True, slots=True)
class Restored:
    manifest: Manifest
    config_path: Path


async def restore_backup(
    source: Path, folder: Path, unsealing: Unsealing, *, database_url: str | None
) -> Restored:
    """Restore the backup in `source` into the empty (or new) `folder`."""
    manifest = await asyncio.to_thread(_checked_manifest, source)
    if manifest.database == "postgres" and not database_url:
        raise BackupError("this is a PostgreSQL backup: give --database-url of an empty database")
    if manifest.database == "sqlite" and database_url:
        raise BackupError("this is a SQLite backup: --database-url is for PostgreSQL backups")
    _require_empty(folder)
    if database_url:  # refused before anything is decrypted
        await databases.require_empty_database(database_url)
    make_private_folder(folder)
    try:
        await asyncio.to_thread(_extract, source, folder, manifest, unsealing)
        if database_url:
            await databases.restore_postgres(folder / _PENDING_DUMP, database_url)
            (folder / _PENDING_DUMP).unlink()
        config_path = _write_config(folder, database_url)
    except BaseException:
        _empty(folder)
        raise
    return Restored(manifest, config_path)


def _checked_manifest(source: Path) -> Manifest:
    if not source.is_dir():
        raise BackupError(f"{source} is not a folder")
    manifest = read_manifest(source)
    check_files(source, manifest)
    return manifest


def _require_empty(folder: Path) -> None:
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise BackupError(f"{folder} is not a folder")
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty: restore into an empty or new folder")


def _empty(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _extract(source: Path, folder: Path, manifest: Manifest, unsealing: Unsealing) -> None:
    """Every file of the backup, decrypted, to where the restored server expects it."""
    opener = _opener(source, manifest, unsealing)
    for name in sorted(manifest.files):
        if name != KEY_FILE:
            logical = name.removesuffix(SUFFIX) if manifest.encrypted else name
            _extract_one(source, manifest, name, folder / _restored_name(logical), opener)


def backed_up_database_url(source: Path, unsealing: Unsealing, scratch: Path) -> str:
    """The database URL in the backed-up config (only that file is decrypted, into `scratch`)."""
    manifest = read_manifest(source)
    name = CONFIG_FILE + (SUFFIX if manifest.encrypted else "")
    if name not in manifest.files:
        raise BackupError(f"backup damaged: {name} is not in the manifest")
    target = scratch / _PENDING_CONFIG
    _extract_one(source, manifest, name, target, _opener(source, manifest, unsealing))
    return _parsed_config(target).database.url


def _opener(source: Path, manifest: Manifest, unsealing: Unsealing) -> Opener | None:
    if not manifest.encrypted:
        return None
    return Opener(unsealing, source, has_key_file=KEY_FILE in manifest.files)


def _extract_one(
    source: Path, manifest: Manifest, name: str, target: Path, opener: Opener | None
) -> None:
    make_private_folder(target.parent)
    if opener is None:
        copy_private(source / name, target)
    else:
        opener.open(source / name, target)
    digest, _ = sha256_of(target)
    entry = manifest.files[name]
    if digest != (entry.plain_sha256 or entry.sha256):
        raise BackupError(f"backup damaged: {name} does not decrypt to what was backed up")


def _restored_name(logical: str) -> str:
    fixed = {
        DATABASE_SQLITE: RESTORED_DATABASE,
        DATABASE_POSTGRES: _PENDING_DUMP,
        CONFIG_FILE: _PENDING_CONFIG,
        SIGNING_KEY: RESTORED_KEY,
    }
    if logical in fixed:
        return fixed[logical]
    if logical.startswith(f"{MEDIA}/"):
        return RESTORED_MEDIA + logical.removeprefix(MEDIA)
    raise BackupError(f"backup damaged: unexpected file {logical!r} in the manifest")


def _write_config(folder: Path, database_url: str | None) -> Path:
    """The backed-up config, its paths pointing at the restored files."""
    pending = folder / _PENDING_CONFIG
    config = _parsed_config(
        pending,
        signing_key_path=RESTORED_KEY,
        media={"store_path": RESTORED_MEDIA},
        database={"url": database_url or f"sqlite:///{RESTORED_DATABASE}"},
    )
    path = folder / RESTORED_CONFIG
    path.write_text(render_toml(config), encoding="utf-8")
    path.chmod(FILE_MODE)
    pending.unlink()
    return path


def _parsed_config(path: Path, **changes: Any) -> Config:
    """The config file at `path` with `changes` (a table's keys merged), validated."""
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        for key, value in changes.items():
            if isinstance(value, dict):
                raw.setdefault(key, {}).update(value)
            else:
                raw[key] = value
        config = msgspec.convert(raw, Config)
        validate(config)
    except (tomllib.TOMLDecodeError, msgspec.ValidationError, ConfigError) as exc:
        raise BackupError(f"the backed-up config is invalid: {exc}") from None
    return config
