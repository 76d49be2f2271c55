"""`bastion backup verify`: restore into a scratch place and compare with the manifest.

Checks, in order: every file's SHA-256 (a tampered file is named), decryption and every
plaintext hash, the restored database (SQLite's quick check), its counts of users, rooms, events
and uploaded media against those taken in the backup's snapshot, and that every uploaded media
file is present. A PostgreSQL backup is restored into a scratch database created for the purpose
(on the server of `--database-url`, else of the backed-up config) and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bastion.backup import databases
from bastion.backup.errors import BackupError
from bastion.backup.manifest import Counts, read_manifest
from bastion.backup.restore import (
    RESTORED_DATABASE,
    RESTORED_MEDIA,
    backed_up_database_url,
    restore_backup,
)
from bastion.backup.sealing import Unsealing
from bastion.services.media.storage import LocalDirectoryStorage, StorageKey
from bastion.store.database import redacted_url


@dataclass(frozen=True, slots=True)
class Verdict:
    problems: list[str]
    counts: Counts


async def verify_backup(source: Path, unsealing: Unsealing, *, server_url: str | None) -> Verdict:
    """Restore `source` into a scratch folder (and database) and check what came back."""
    manifest = await asyncio.to_thread(read_manifest, source)
    with tempfile.TemporaryDirectory(prefix="bastion-verify-") as scratch:
        folder = Path(scratch) / "restored"
        if manifest.database == "sqlite":
            await restore_backup(source, folder, unsealing, database_url=None)
            problems, counts, media_ids = await asyncio.to_thread(
                _read_sqlite, folder / RESTORED_DATABASE
            )
        else:
            url = server_url
            if url is None:
                url = await asyncio.to_thread(
                    backed_up_database_url, source, unsealing, Path(scratch)
                )
            async with _ScratchDatabase(url) as scratch_url:
                await restore_backup(source, folder, unsealing, database_url=scratch_url)
                counts, media_ids = await databases.postgres_counts(scratch_url, manifest.schema)
                problems = []
        problems += _compare(manifest.counts, counts)
        problems += await asyncio.to_thread(_missing_media, folder / RESTORED_MEDIA, media_ids)
    return Verdict(problems, counts)


def _read_sqlite(database: Path) -> tuple[list[str], Counts, list[str]]:
    problems = []
    if (check := databases.sqlite_is_intact(database)) != "ok":
        problems.append(f"the database fails SQLite's quick check: {check}")
    return problems, databases.sqlite_counts(database), list(databases.sqlite_media_ids(database))


def _compare(expected: Counts, found: Counts) -> list[str]:
    return [
        f"{name}: {getattr(found, name)} restored, {getattr(expected, name)} backed up"
        for name in ("users", "rooms", "events", "media")
        if getattr(found, name) != getattr(expected, name)
    ]


def _missing_media(root: Path, media_ids: list[str]) -> list[str]:
    storage = LocalDirectoryStorage(root)
    missing = [m for m in media_ids if not storage.path_of(StorageKey(m)).is_file()]
    if not missing:
        return []
    return [f"{len(missing)} uploaded media files missing (first: {missing[0]})"]


class _ScratchDatabase:
    """A database created for one verification and dropped after it."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._name = f"bastion_verify_{secrets.token_hex(6)}"

    async def __aenter__(self) -> str:
        await self._admin(f'CREATE DATABASE "{self._name}"')
        return urlunsplit(urlsplit(self._url)._replace(path=f"/{self._name}"))

    async def __aexit__(self, *_exc: object) -> None:
        await self._admin(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')

    async def _admin(self, sql: str) -> None:
        try:
            conn = await asyncpg.connect(self._url)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            reason = " ".join(str(exc).split())
            raise BackupError(
                f"cannot create or drop a scratch database on {redacted_url(self._url)}: "
                f"{reason} (give --database-url of a server where verify may create one)"
            ) from None
