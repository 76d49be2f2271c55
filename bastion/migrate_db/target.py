"""The PostgreSQL side of `migrate-db`: refusing a target that is not empty, migrating it, and
reading its schema (column types, foreign keys, identity columns).

"Empty" means one of two things: no table at all in the schema (we apply the migrations), or
exactly what the migrations leave: the latest schema version, and no row in any table except
`schema_version` and `ROWS_FROM_MIGRATIONS`, the tables whose migration writes a first row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from bastion.migrate_db.errors import MigrationRefused
from bastion.store.database import Database
from bastion.store.migrations.runner import latest_version, migrate

SCHEMA_VERSION_TABLE = "schema_version"
# Tables a fresh migration gives a row: the audit chain's genesis head, the search and media
# reference backfill marks.
ROWS_FROM_MIGRATIONS = frozenset(
    {"audit_head", "event_search_backfill", "media_references_backfill"}
)
# Tables only PostgreSQL has, holding the live state of running processes (nothing to copy):
# the processes writing the shared stream (store/shared_stream.py, migration 0027).
POSTGRES_ONLY_TABLES = frozenset({"stream_writers"})

_TABLES_SQL = (
    "SELECT table_name FROM information_schema.tables"
    " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
)
_COLUMNS_SQL = (
    "SELECT table_name, column_name, data_type, is_identity, column_default"
    " FROM information_schema.columns WHERE table_schema = current_schema()"
    " ORDER BY table_name, ordinal_position"
)
_FOREIGN_KEYS_SQL = (
    "SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k"
    " JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid"
    " JOIN pg_namespace n ON n.oid = k.connamespace"
    " WHERE k.contype = 'f' AND n.nspname = current_schema()"
)


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    data_type: str  # information_schema's name: bigint, text, boolean, bytea, jsonb, ...
    is_generated_key: bool  # an identity or serial column: its sequence restarts after the copy


@dataclass(slots=True)
class TargetSchema:
    """What the copy needs to know about the migrated target."""

    columns: dict[str, list[Column]] = field(default_factory=dict)
    parents: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def tables_in_copy_order(self) -> list[str]:
        """Every table but `schema_version`, each after the tables its foreign keys name."""
        ordered: list[str] = []
        placed: set[str] = set()

        def place(table: str, path: frozenset[str]) -> None:
            if table in placed or table in path:  # a cycle: its own FK order is kept by rows
                return
            for parent in sorted(self.parents.get(table, ())):
                if parent in self.columns:
                    place(parent, path | {table})
            placed.add(table)
            ordered.append(table)

        for table in sorted(self.columns):
            if table != SCHEMA_VERSION_TABLE:
                place(table, frozenset())
        return ordered


async def prepare_target(db: Database, now_ms: int) -> list[int]:
    """Refuse a target that is not empty; apply the migrations to one that has no table.

    Returns the versions applied now (none for a target migrated before).

    Raises:
        MigrationRefused: the target holds data, or a schema of another version.
    """
    tables = [row["table_name"] for row in await db.fetch_all(_TABLES_SQL)]
    if not tables:
        return await migrate(db, now_ms)
    if SCHEMA_VERSION_TABLE not in tables:
        raise MigrationRefused(
            f"the target is not empty ({len(tables)} tables, none of them Bastion's): "
            "give an empty database or a new --schema"
        )
    version = int(await db.fetch_val(f"SELECT MAX(version) FROM {SCHEMA_VERSION_TABLE}") or 0)  # noqa: S608 - a constant
    expected = latest_version(db.dialect)
    if version != expected:
        raise MigrationRefused(
            f"the target has Bastion's schema at version {version:04d}, not {expected:04d}: "
            "give an empty database"
        )
    holding = [
        table
        for table in tables
        if table != SCHEMA_VERSION_TABLE
        and table not in ROWS_FROM_MIGRATIONS
        and await db.fetch_val(f'SELECT EXISTS (SELECT 1 FROM "{table}")')  # noqa: S608 - names from the catalog
    ]
    if holding:
        shown = ", ".join(holding[:5]) + (", ..." if len(holding) > 5 else "")
        raise MigrationRefused(
            f"the target is not empty: {len(holding)} tables hold rows ({shown}); "
            "migrate-db only fills an empty database"
        )
    return []


async def read_schema(db: Database) -> TargetSchema:
    """Columns and foreign keys of the (migrated) target schema."""
    schema = TargetSchema()
    for row in await db.fetch_all(_COLUMNS_SQL):
        generated = row["is_identity"] == "YES" or str(row["column_default"] or "").startswith(
            "nextval("
        )
        schema.columns.setdefault(row["table_name"], []).append(
            Column(row["column_name"], row["data_type"], generated)
        )
    for row in await db.fetch_all(_FOREIGN_KEYS_SQL):
        if row["child"] != row["parent"]:
            schema.parents[row["child"]].add(row["parent"])
    return schema
