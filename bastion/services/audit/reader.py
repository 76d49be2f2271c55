"""Reading the audit log: filtered pages, exports, and the chain check, for admins only."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

from bastion.services.audit.chain import ChainReport, hashed_fields, verify_chain
from bastion.services.principal import Principal
from bastion.store.database import Database
from bastion.store.protocols.audit import AuditQuery, AuditRow, AuditStore

__all__ = ["AuditQuery", "AuditReader", "row_json"]  # AuditQuery re-exported for the API

CSV_COLUMNS = (
    "seq", "ts", "actor_kind", "actor", "action", "target", "outcome", "details", "prev_hash",
    "hash",
)  # fmt: skip
_EXPORT_BATCH = 500


def row_json(row: AuditRow) -> dict[str, Any]:
    """A record as the admin API and the JSONL export show it (details as an object)."""
    return {**hashed_fields(row), "hash": row.hash}


class AuditReader:
    """Lists, exports and verifies the log."""

    def __init__(self, db: Database, store: AuditStore) -> None:
        self._db, self._store = db, store

    async def list(self, actor: Principal, query: AuditQuery) -> list[AuditRow]:
        """One page of records matching `query`, oldest first."""
        actor.require_admin()
        return await self._store.search(self._db, query)

    async def verify(self, actor: Principal) -> ChainReport:
        """Check the whole chain."""
        actor.require_admin()
        return await verify_chain(self._db, self._store)

    async def _all(self, query: AuditQuery) -> AsyncIterator[AuditRow]:
        after = query.after
        while True:
            page = await self._store.search(
                self._db,
                AuditQuery(
                    query.actor, query.target, query.action, query.since_ts, query.until_ts,
                    after=after, limit=_EXPORT_BATCH,
                ),
            )  # fmt: skip
            for row in page:
                yield row
            if len(page) < _EXPORT_BATCH:
                return
            after = page[-1].seq

    async def export_jsonl(self, actor: Principal, query: AuditQuery) -> AsyncIterator[bytes]:
        """Every matching record, one JSON object a line (hashes included, for re-checking)."""
        actor.require_admin()
        async for row in self._all(query):
            yield (json.dumps(row_json(row), ensure_ascii=False) + "\n").encode()

    async def export_csv(self, actor: Principal, query: AuditQuery) -> AsyncIterator[bytes]:
        """Every matching record as CSV with a header row (details as JSON text)."""
        actor.require_admin()
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        async for row in self._all(query):
            writer.writerow(
                [row.seq, row.ts, row.actor_kind, row.actor, row.action, row.target or "",
                 row.outcome, row.details, row.prev_hash, row.hash]
            )  # fmt: skip
            if buffer.tell() > 64_000:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode()
