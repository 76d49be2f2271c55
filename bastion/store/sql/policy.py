"""SQL for the organisation policy's versions (`org_policy`)."""

from __future__ import annotations

from bastion.store.database import Queryable
from bastion.store.protocols.policy import PolicyVersion


class SqlPolicyStore:
    """Versions by number; the highest is in force."""

    async def latest(self, q: Queryable) -> PolicyVersion | None:
        row = await q.fetch_one(
            "SELECT version, document, changed_by, changed_ts FROM org_policy"
            " ORDER BY version DESC LIMIT 1"
        )
        if row is None:
            return None
        return PolicyVersion(int(row[0]), row[1], row[2], int(row[3]))

    async def insert(self, q: Queryable, version: PolicyVersion) -> None:
        """Store a new version (a unique-key violation if another writer took the number)."""
        await q.execute(
            "INSERT INTO org_policy (version, document, changed_by, changed_ts)"
            " VALUES (?, ?, ?, ?)",
            version.version, version.document, version.changed_by, version.changed_ts,
        )  # fmt: skip
