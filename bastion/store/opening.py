"""Opening the database a URL names: the one place that knows both backends.

Apart from the `Database` protocol (database.py) because each backend imports that module for
`Row` and `UniqueViolation`: a factory beside the protocol made the protocol and the backends
import each other.
"""

from __future__ import annotations

import sqlite3

import asyncpg

from bastion.store.database import Database, DatabaseUnavailable, redacted_url
from bastion.store.postgres import PostgresDatabase
from bastion.store.sqlite import SqliteDatabase


async def open_database(
    url: str, *, schema: str = "", pool_size: int = 10, sqlite_synchronous: str = "normal"
) -> Database:
    """Open the database named by a `sqlite:///` or `postgresql://` URL.

    Raises:
        DatabaseUnavailable: it cannot be reached or opened (the message says why, one line).
    """
    try:
        if url.startswith("sqlite:///"):
            path = url.removeprefix("sqlite:///")
            return await SqliteDatabase.open(path, synchronous=sqlite_synchronous)
        return await PostgresDatabase.open(url, schema=schema, pool_size=pool_size)
    except (
        OSError,
        ValueError,
        sqlite3.Error,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
    ) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DatabaseUnavailable(f"cannot open database {redacted_url(url)}: {reason}") from exc
