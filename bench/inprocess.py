"""What the in-process benchmarks (search.py, presence_sync.py, push_send.py, sliding_sync.py,
media_references.py) share: a config for a throwaway Bastion with every limit out of the way, on
SQLite in a folder or a PostgreSQL schema; the options choosing the database; and the runtime
opened on it, removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from benchlib import drop_schema

from bastion.app import Runtime
from bastion.config import (
    AuthConfig,
    Config,
    DatabaseConfig,
    MediaConfig,
    PresenceConfig,
    RateLimit,
    RateLimitsConfig,
)
from bastion.server_key import write_new_key


def bench_config(
    workdir: Path, *, database_url: str | None, schema: str | None, presence: bool = True
) -> Config:
    """A config for a benchmark's own server: SQLite in `workdir` unless `database_url` names a
    PostgreSQL server (then `schema` in it), argon2 at its lowest cost, no rate limits."""
    if database_url:
        database = DatabaseConfig(url=database_url, schema=schema or "", pool_size=4)
    else:
        database = DatabaseConfig(url=f"sqlite:///{workdir / 'bastion.db'}")
    unlimited = RateLimit(per_second=100000.0, burst=100000)
    limits = dict.fromkeys(RateLimitsConfig.__struct_fields__, unlimited)
    return Config(
        server_name="bench.local",
        signing_key_path=str(workdir / "signing.key"),
        database=database,
        auth=AuthConfig(
            token_hmac_key="bench", argon2_time_cost=1, argon2_memory_kib=1024,
            argon2_parallelism=1,
        ),
        media=MediaConfig(store_path=str(workdir / "media")),
        rate_limits=RateLimitsConfig(**limits),
        presence=PresenceConfig(enabled=presence),
    )  # fmt: skip


def add_database_options(parser: argparse.ArgumentParser) -> None:
    """--database-url, and --postgres (BASTION_TEST_PG_DSN, as scripts/with-postgres exports)."""
    parser.add_argument("--database-url", help="postgresql://...; default: SQLite in a temp dir")
    parser.add_argument(
        "--postgres", action="store_true", help="PostgreSQL at $BASTION_TEST_PG_DSN"
    )


def parse_with_database(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """The arguments, `database_url` taken from the environment for --postgres."""
    args = parser.parse_args()
    if args.postgres and not args.database_url:
        args.database_url = os.environ.get("BASTION_TEST_PG_DSN")
        if not args.database_url:
            parser.error("--postgres needs BASTION_TEST_PG_DSN (run under scripts/with-postgres)")
    return args


@asynccontextmanager
async def bench_runtime(database_url: str | None, prefix: str) -> AsyncIterator[Runtime]:
    """A runtime (presence off) in a temporary folder, on SQLite or a throwaway schema of
    `database_url`; the folder and the schema are removed afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    write_new_key(workdir / "signing.key")
    schema = f"bench_{uuid.uuid4().hex[:12]}" if database_url else None
    config = bench_config(workdir, database_url=database_url, schema=schema, presence=False)
    try:
        runtime = await Runtime.open(config)
        try:
            yield runtime
        finally:
            await runtime.close()
    finally:
        if database_url and schema is not None:
            await drop_schema(database_url, schema)
        shutil.rmtree(workdir)
