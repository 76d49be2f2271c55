"""The database part of a backup: a consistent snapshot, its row counts, and restoring it.

SQLite: `sqlite3.Connection.backup` from a connection of our own, in one step, so the copy is
the database as of one read transaction (WAL lets the server keep writing meanwhile).
PostgreSQL: a REPEATABLE READ transaction exports its snapshot, the counts are read in it and
`pg_dump --format=custom --snapshot=...` dumps exactly that snapshot; `pg_restore` restores
into an empty database, in a single transaction. The password of a URL goes to the tools
through PGPASSWORD, never on their command line (which `ps` shows).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bastion.backup.errors import BackupError
from bastion.backup.manifest import Counts
from bastion.private_files import make_file_private
from bastion.store.database import redacted_url

COUNT_QUERIES = {
    "users": "SELECT count(*) FROM users",
    "rooms": "SELECT count(*) FROM rooms",
    "events": "SELECT count(*) FROM events",
    "media": "SELECT count(*) FROM media WHERE uploaded_ts IS NOT NULL",
}
UPLOADED_MEDIA_SQL = "SELECT media_id FROM media WHERE uploaded_ts IS NOT NULL"
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_PG_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


# --- SQLite ------------------------------------------------------------------------------------


def snapshot_sqlite(database: Path, target: Path) -> Counts:
    """Copy the live SQLite database into the new file `target`; the copy's counts."""
    if not database.is_file():
        raise BackupError(f"database file {database} does not exist")
    make_file_private(target)
    try:
        with (
            closing(sqlite3.connect(database, timeout=30)) as source,
            closing(sqlite3.connect(target)) as copy,
        ):
            source.backup(copy)  # pages=-1: all in one step, one read transaction
            # One self-contained file (no -wal/-shm beside it); the server sets WAL on open.
            copy.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as exc:
        raise BackupError(f"cannot back up {database}: {exc}") from None
    return sqlite_counts(target)


def sqlite_counts(database: Path) -> Counts:
    """Rows and uploaded media in a SQLite database file."""
    try:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
            values = {k: conn.execute(sql).fetchone()[0] for k, sql in COUNT_QUERIES.items()}
    except sqlite3.Error as exc:
        raise BackupError(f"cannot read the database in {database}: {exc}") from None
    return Counts(**values)


def sqlite_media_ids(database: Path) -> Iterator[str]:
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        for (media_id,) in conn.execute(UPLOADED_MEDIA_SQL):
            yield str(media_id)


def sqlite_is_intact(database: Path) -> str:
    """`ok`, or what SQLite's quick check found wrong."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        return str(conn.execute("PRAGMA quick_check").fetchone()[0])


# --- PostgreSQL --------------------------------------------------------------------------------


def pg_tool(
    name: str,
    *,
    versioned_root: Path = Path("/usr/lib/postgresql"),
    search: Callable[[str], str | None] = shutil.which,
) -> str:
    """The newest `pg_dump`/`pg_restore` in Debian's versioned folders, else PATH's."""
    versioned = sorted(
        (int(found.parent.parent.name), str(found))
        for found in versioned_root.glob(f"*/bin/{name}")
        if found.parent.parent.name.isdigit()
    )
    tool = versioned[-1][1] if versioned else search(name)
    if tool is None:
        raise BackupError(
            f"{name} not found on PATH or in {versioned_root}/*/bin: install the PostgreSQL "
            "client tools (Debian: postgresql-client) of your server's version or newer"
        )
    return tool


async def dump_postgres(url: str, schema: str, target: Path) -> Counts:
    """`pg_dump` the database (or `schema` only) into `target`; the counts of that snapshot."""
    tool = pg_tool("pg_dump")
    conn = await _connect(url)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            if schema:
                await conn.execute(f"SET LOCAL search_path TO {_quoted_schema(schema)}")
            counts = await _pg_counts(conn)
            make_file_private(target)
            only = [f"--schema={_quoted_schema(schema)}"] if schema else []
            await _run(tool, "--format=custom", f"--snapshot={snapshot}", f"--file={target}",
                       *only, url=url)  # fmt: skip
    except _PG_ERRORS as exc:
        raise BackupError(f"cannot dump {redacted_url(url)}: {_one_line(exc)}") from None
    finally:
        await conn.close()
    return counts


async def require_empty_database(url: str) -> None:
    """BackupError unless the database at `url` holds no table (of any schema)."""
    conn = await _connect(url)
    try:
        tables = await conn.fetchval(
            "SELECT count(*) FROM pg_catalog.pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
    finally:
        await conn.close()
    if tables:
        raise BackupError(
            f"database {redacted_url(url)} is not empty ({tables} tables): "
            "restore needs an empty database"
        )


async def restore_postgres(dump: Path, url: str) -> None:
    """`pg_restore` into the database at `url`, which must hold no table."""
    tool = pg_tool("pg_restore")
    await require_empty_database(url)
    await _run(tool, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
               str(dump), url=url)  # fmt: skip


async def postgres_counts(url: str, schema: str) -> tuple[Counts, list[str]]:
    """Counts and uploaded media IDs of a restored PostgreSQL database."""
    conn = await _connect(url)
    try:
        if schema:
            await conn.execute(f"SET search_path TO {_quoted_schema(schema)}")
        counts = await _pg_counts(conn)
        media_ids = [str(row[0]) for row in await conn.fetch(UPLOADED_MEDIA_SQL)]
    except _PG_ERRORS as exc:
        raise BackupError(f"cannot read {redacted_url(url)}: {_one_line(exc)}") from None
    finally:
        await conn.close()
    return counts, media_ids


async def _pg_counts(conn: Any) -> Counts:
    return Counts(**{k: int(await conn.fetchval(sql)) for k, sql in COUNT_QUERIES.items()})


async def _connect(url: str) -> Any:
    try:
        return await asyncpg.connect(url)
    except _PG_ERRORS as exc:
        raise BackupError(f"cannot connect to {redacted_url(url)}: {_one_line(exc)}") from None


async def _run(tool: str, *args: str, url: str) -> None:
    """Run a PostgreSQL client tool against `url`; BackupError with its last error line."""
    parts = urlsplit(url)
    env = None  # the child inherits ours; nothing of it is read here as configuration
    if parts.password is not None:
        env = {**os.environ, "PGPASSWORD": parts.password}
        netloc = parts.netloc.replace(f":{parts.password}@", "@", 1)
        url = urlunsplit(parts._replace(netloc=netloc))
    process = await asyncio.create_subprocess_exec(
        tool, *args, f"--dbname={url}", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await process.communicate()
    if process.returncode != 0:
        lines = [line for line in stderr.decode(errors="replace").splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {process.returncode}"
        raise BackupError(f"{Path(tool).name} failed: {reason}")


def _quoted_schema(schema: str) -> str:
    if _SCHEMA_NAME.fullmatch(schema) is None:
        raise BackupError(f"invalid PostgreSQL schema name {schema!r}")
    return f'"{schema}"'


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
