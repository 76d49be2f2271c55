"""Organisation policy store (see migrations/0015_create_org_policy.sql for the model).

See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from typing import Protocol

import msgspec

from bastion.store.database import Queryable


class PolicyVersion(msgspec.Struct, frozen=True):
    """One stored version of the policy document (`document` is JSON text)."""

    version: int
    document: str
    changed_by: str
    changed_ts: int


class PolicyStore(Protocol):
    """Versions of the policy document."""

    async def latest(self, q: Queryable) -> PolicyVersion | None: ...
    async def insert(self, q: Queryable, version: PolicyVersion) -> None: ...
