"""Audit log store (see migrations/0014_create_audit_log.sql for the model).

See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from typing import Protocol

import msgspec

from bastion.store.database import Queryable


class AuditRow(msgspec.Struct, frozen=True):
    """One stored audit record; `details` is canonical JSON text."""

    seq: int
    ts: int
    actor_kind: str
    actor: str
    action: str
    target: str | None
    outcome: str
    details: str
    prev_hash: str
    hash: str


class AuditQuery(msgspec.Struct, frozen=True):
    """Filters for listing the log: every set field must match; `after` pages by `seq`."""

    actor: str | None = None
    target: str | None = None
    action: str | None = None
    since_ts: int | None = None
    until_ts: int | None = None
    after: int = 0
    limit: int = 100


class AuditStore(Protocol):
    """The append-only chain and its head."""

    async def advance_head(self, q: Queryable) -> tuple[int, str]: ...
    async def set_head_hash(self, q: Queryable, hash_: str) -> None: ...
    async def head(self, q: Queryable) -> tuple[int, str]: ...
    async def append(self, q: Queryable, row: AuditRow) -> None: ...
    async def rows_after(self, q: Queryable, seq: int, limit: int) -> list[AuditRow]: ...
    async def search(self, q: Queryable, query: AuditQuery) -> list[AuditRow]: ...
