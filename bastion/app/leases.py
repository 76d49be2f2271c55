"""Which worker leases a runtime's background workers use (workers/leased.py, registry.py).

PostgreSQL: advisory-lock leases on a connection of their own (store/sql/leases.py), since
several processes may serve the database (`--workers N`, several machines). SQLite: none, one
process serves the database and its workers run bare, exactly as before leases existed.
"""

from __future__ import annotations

from bastion.config import Config
from bastion.store.database import Dialect
from bastion.store.protocols.leases import WorkerLeases
from bastion.store.sql.leases import PostgresLeases


def worker_leases(config: Config, dialect: Dialect) -> WorkerLeases | None:
    """The leases for `config`'s database, or None when one process serves it."""
    if dialect != "postgres":
        return None
    return PostgresLeases(config.database.url, schema=config.database.schema)
