"""What the backup tests share: the CLI against the in-process server's config, an empty
PostgreSQL database to restore into, and reading what a restored server holds."""

from __future__ import annotations

import asyncio
import contextlib
import io
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bastion.cli import main
from bastion.config import load_config, render_toml
from bastion.store.opening import open_database
from tests.conftest import Homeserver, pg_dsn


def write_config(hs: Homeserver, tmp_path: Path) -> Path:
    """The running test server's config as a file the `bastion` CLI can read."""
    path = tmp_path / "live.toml"
    path.write_text(render_toml(hs.runtime.config), encoding="utf-8")
    return path


async def cli(*args: str | Path, input_text: str = "") -> subprocess.CompletedProcess[str]:
    """`bastion ARGS` run to completion in a worker thread (its own event loop, its own database
    connections, as a separate process would have), while the server in this process keeps
    serving; in-process so that coverage sees it. Exit status and output as a subprocess's."""
    return await asyncio.to_thread(_run_main, [str(arg) for arg in args], input_text)


def _run_main(argv: list[str], input_text: str) -> subprocess.CompletedProcess[str]:
    out, err = io.StringIO(), io.StringIO()
    stdin = sys.stdin
    sys.stdin = io.StringIO(input_text)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse refusing the arguments
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        sys.stdin = stdin
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


@asynccontextmanager
async def empty_database(db_kind: str) -> AsyncIterator[list[str]]:
    """`["--database-url", URL]` of a new, empty PostgreSQL database (dropped after), or `[]`."""
    if db_kind == "sqlite":
        yield []
        return
    dsn = pg_dsn()
    assert dsn is not None
    name = f"r_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        yield ["--database-url", urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))]
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def restored_event_ids(config_path: Path) -> set[str]:
    """The event IDs in the database a restored config points at."""
    config = load_config(config_path)
    db = await open_database(config.database.url, schema=config.database.schema, pool_size=1)
    try:
        return {row["event_id"] for row in await db.fetch_all("SELECT event_id FROM events")}
    finally:
        await db.close()


def files_under(folder: Path) -> list[bytes]:
    """The contents of every file under `folder`."""
    return [path.read_bytes() for path in folder.rglob("*") if path.is_file()]


def same_bytes(first: Path, second: Path) -> bool:
    return first.read_bytes() == second.read_bytes()


async def audit_actions(hs: Homeserver) -> list[tuple[str, str]]:
    rows = await hs.runtime.db.fetch_all("SELECT action, outcome FROM audit_log ORDER BY seq")
    return [(row["action"], row["outcome"]) for row in rows]
