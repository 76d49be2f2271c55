"""Copying every table from the SQLite source into the PostgreSQL target, in one transaction.

See the package docstring for the safety design. Order inside the transaction: empty what the
migrations wrote; copy the tables in foreign-key order, `batch` rows per statement; rebuild the
search index from SQLite's tokens; restart identity columns; count every table on both sides.
Stream positions need nothing more: they all live in rows, and an allocator (in-process or
shared, store/shared_stream.py) starts above the highest stored one. A mismatch raises
`CountMismatch` (with the counts), which rolls the transaction back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastion.migrate_db.errors import MigrationRefused
from bastion.migrate_db.source import SqliteSource
from bastion.migrate_db.target import (
    POSTGRES_ONLY_TABLES,
    Column,
    TargetSchema,
    prepare_target,
    read_schema,
)
from bastion.store.database import Database, Transaction
from bastion.store.migrations.runner import latest_version
from bastion.store.opening import open_database
from bastion.store.protocols.search import SearchEntry
from bastion.store.sql.search import PostgresSearchStore
from bastion.store.stream import highest_stored_position

SEARCH_TABLE = "event_search"  # SQLite: tokens (+ FTS5); PostgreSQL: a tsvector, rebuilt
SEARCH_COLUMNS = ("stream_ordering", "room_id", "sender", "key", "tokens")
DEFAULT_BATCH = 1000

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class TableCount:
    """Rows of one table on each side."""

    table: str
    source: int
    target: int

    @property
    def matches(self) -> bool:
        return self.source == self.target


@dataclass(frozen=True, slots=True)
class MigrationReport:
    """What `migrate_to_postgres` did."""

    counts: list[TableCount]
    applied_migrations: list[int]
    stream_position: int  # the highest stream position copied: where sync tokens continue


class CountMismatch(MigrationRefused):
    """The counts differ after the copy (rolled back); `report` has them all."""

    def __init__(self, report: MigrationReport) -> None:
        differing = [c.table for c in report.counts if not c.matches]
        super().__init__(
            f"row counts differ in {', '.join(differing)}: nothing was kept in the target"
        )
        self.report = report


def _integer(value: Any) -> Any:
    return int(value) if isinstance(value, (float, str, bytes)) else value


def _text(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value if value is None or isinstance(value, str) else str(value)


def _boolean(value: Any) -> Any:
    return value if value is None else bool(value)


def _blob(value: Any) -> Any:
    return value.encode("utf-8") if isinstance(value, str) else value


def _real(value: Any) -> Any:
    return value if value is None else float(value)


def _json(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else json.dumps(value)


def _as_is(value: Any) -> Any:
    return value


# SQLite's values by the target column's type (information_schema data_type).
_CONVERSIONS: dict[str, Callable[[Any], Any]] = {
    "bigint": _integer,
    "integer": _integer,
    "smallint": _integer,
    "text": _text,
    "character varying": _text,
    "boolean": _boolean,
    "bytea": _blob,
    "double precision": _real,
    "real": _real,
    "numeric": _real,
    "json": _json,
    "jsonb": _json,
}


def _converter(columns: Sequence[Column]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    convert = [_CONVERSIONS.get(column.data_type, _as_is) for column in columns]

    def row(values: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(f(v) for f, v in zip(convert, values, strict=True))

    return row


def _check_tables(source: SqliteSource, schema: TargetSchema, tables: Sequence[str]) -> None:
    """Refuse when the two schemas do not hold the same tables and columns."""
    source_tables = set(source.tables()) - {"schema_version"}
    missing = set(tables) - source_tables - POSTGRES_ONLY_TABLES
    extra = source_tables - set(tables)
    if missing or extra:
        raise MigrationRefused(
            "the SQLite and PostgreSQL schemas differ (tables only in PostgreSQL: "
            f"{sorted(missing)}, only in SQLite: {sorted(extra)})"
        )
    for table in sorted(set(tables) & source_tables):
        wanted = (
            SEARCH_COLUMNS if table == SEARCH_TABLE else [c.name for c in schema.columns[table]]
        )
        absent = set(wanted) - set(source.columns(table))
        if absent:
            raise MigrationRefused(f"SQLite table {table} lacks columns {sorted(absent)}")


async def _copy_table(
    txn: Transaction,
    source: SqliteSource,
    table: str,
    columns: Sequence[Column],
    batch: int,
    progress: Progress,
) -> None:
    names = [column.name for column in columns]
    quoted = ", ".join(f'"{name}"' for name in names)
    placeholders = ", ".join("?" for _ in names)
    insert = f'INSERT INTO "{table}" ({quoted}) VALUES ({placeholders})'  # noqa: S608 - catalog names
    convert = _converter(columns)
    total, done = source.count(table), 0
    for chunk in source.rows(table, names, batch):
        await txn.execute_many(insert, [convert(values) for values in chunk])
        done += len(chunk)
        if total > batch:
            progress(f"  {table}: {done}/{total}")
    progress(f"copied {table}: {total} rows")


async def _rebuild_search(
    txn: Transaction, source: SqliteSource, batch: int, progress: Progress
) -> None:
    """PostgreSQL's search rows from SQLite's tokens (the same tokens: the same matches)."""
    store = PostgresSearchStore()
    for chunk in source.rows(SEARCH_TABLE, SEARCH_COLUMNS, batch):
        entries = [
            SearchEntry(int(position), room_id, sender, key, str(tokens).split())
            for position, room_id, sender, key, tokens in chunk
        ]
        await store.insert_entries(txn, entries)
    progress(f"rebuilt the search index: {source.count(SEARCH_TABLE)} rows")


async def _restart_identities(txn: Transaction, schema: TargetSchema) -> None:
    """Identity columns continue after their highest copied value."""
    for table, columns in schema.columns.items():
        for column in columns:
            if column.is_generated_key:
                highest = f'SELECT COALESCE(MAX("{column.name}"), 0) + 1 FROM "{table}"'  # noqa: S608 - catalog names
                await txn.fetch_val(
                    f"SELECT setval(pg_get_serial_sequence(?, ?), ({highest}), false)",
                    f'"{table}"',
                    column.name,
                )


async def _copy_all(
    db: Database,
    source: SqliteSource,
    schema: TargetSchema,
    *,
    applied: list[int],
    batch: int,
    progress: Progress,
) -> MigrationReport:
    tables = schema.tables_in_copy_order()
    _check_tables(source, schema, tables)
    async with db.transaction() as txn:
        for table in reversed(tables):  # what the migrations wrote (their first rows)
            await txn.execute(f'DELETE FROM "{table}"')  # noqa: S608 - names from the catalog
        for table in tables:
            if table == SEARCH_TABLE:
                await _rebuild_search(txn, source, batch, progress)
            elif table not in POSTGRES_ONLY_TABLES:
                await _copy_table(txn, source, table, schema.columns[table], batch, progress)
        await _restart_identities(txn, schema)
        stream_position = await highest_stored_position(txn)
        counts = [
            TableCount(
                table,
                0 if table in POSTGRES_ONLY_TABLES else source.count(table),
                int(await txn.fetch_val(f'SELECT count(*) FROM "{table}"')),  # noqa: S608 - names from the catalog
            )
            for table in tables
        ]
        report = MigrationReport(counts, applied, stream_position)
        if not all(count.matches for count in counts):
            raise CountMismatch(report)  # rolls the whole copy back
    return report


async def migrate_to_postgres(
    sqlite_file: Path,
    url: str,
    *,
    schema: str = "",
    batch: int = DEFAULT_BATCH,
    progress: Progress,
    now_ms: int,
) -> MigrationReport:
    """Copy the SQLite database `sqlite_file` into the empty PostgreSQL database at `url`
    (schema `schema`).

    Raises:
        MigrationRefused: the source is in use or not up to date, the target not empty, the
            schemas differ, or the counts differ (`CountMismatch`); nothing is kept.
        DatabaseUnavailable: the target cannot be reached.
    """
    if not url.startswith(("postgresql://", "postgres://")):
        raise MigrationRefused(f"--to {url!r}: give a postgresql://user:password@host/db URL")
    source = SqliteSource.open(sqlite_file)
    try:
        version, expected = source.schema_version(), latest_version("sqlite")
        if version != expected:
            raise MigrationRefused(
                f"the SQLite database is at schema version {version:04d}, this Bastion at "
                f"{expected:04d}: run `bastion migrate` (or start the server once) first"
            )
        db = await open_database(url, schema=schema, pool_size=2)
        try:
            applied = await prepare_target(db, now_ms)
            if applied:
                progress(f"applied migrations to PostgreSQL: {applied[0]:04d}-{applied[-1]:04d}")
            target = await read_schema(db)
            return await _copy_all(
                db, source, target, applied=applied, batch=batch, progress=progress
            )
        finally:
            await db.close()
    finally:
        source.close()
