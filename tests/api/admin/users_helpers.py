"""What the users admin API tests share: the admin, and reading the audit log."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Homeserver, UserClient

V2 = "/_synapse/admin/v2/users"


async def root(hs: Homeserver) -> UserClient:
    """A logged-in server admin."""
    return await hs.register_user("root", admin=True)


async def audit_rows(hs: Homeserver, action: str, target: str) -> list[dict[str, Any]]:
    """The audit records of `action` on `target`, oldest first, details decoded."""
    rows = await hs.runtime.db.fetch_all(
        "SELECT actor, outcome, details FROM audit_log WHERE action = ? AND target = ?"
        " ORDER BY seq",
        action,
        target,
    )
    return [{"actor": row[0], "outcome": row[1], "details": json.loads(row[2])} for row in rows]
