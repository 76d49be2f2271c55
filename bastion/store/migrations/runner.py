"""Applies the numbered SQL migrations in this folder, in order, each exactly once.

Files are named `NNNN_verb_noun.sql` (both dialects) or `NNNN_verb_noun.sqlite.sql` /
`NNNN_verb_noun.postgres.sql` when the dialects differ. A released file is never edited: a change
is a new file. Each file is applied in its own transaction and recorded in `schema_version`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

from bastion.store.database import Database

log = logging.getLogger(__name__)

_FILE_NAME = re.compile(r"(\d{4})_([a-z0-9_]+?)(?:\.(sqlite|postgres))?\.sql")


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration script for one dialect."""

    version: int
    name: str
    sql: str


def migrations_for(dialect: str) -> list[Migration]:
    """Every migration for `dialect`, in version order."""
    found: dict[int, Migration] = {}
    for entry in resources.files(__package__).iterdir():
        match = _FILE_NAME.fullmatch(entry.name)
        if match is None:
            continue
        version, name, only = int(match[1]), match[2], match[3]
        if only is not None and only != dialect:
            continue
        if version in found:
            raise RuntimeError(f"two migrations numbered {version:04d} for {dialect}")
        found[version] = Migration(version, name, entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


async def migrate(db: Database, now_ms: int) -> list[int]:
    """Apply every migration not yet applied; returns the versions applied now."""
    applied: list[int] = []
    for migration in migrations_for(db.dialect):
        if await db.apply_migration(migration.version, migration.name, migration.sql, now_ms):
            log.info("applied migration %04d_%s", migration.version, migration.name)
            applied.append(migration.version)
    return applied


async def current_version(db: Database) -> int:
    """Highest applied migration (0 for an empty database)."""
    migrations = migrations_for(db.dialect)
    if not migrations:
        return 0
    try:
        value = await db.fetch_val("SELECT MAX(version) FROM schema_version")
    except Exception:  # the table does not exist before the first migration
        return 0
    return int(value or 0)


def latest_version(dialect: str) -> int:
    """Version the code expects the database to be at."""
    migrations = migrations_for(dialect)
    return migrations[-1].version if migrations else 0
