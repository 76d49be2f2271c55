"""Helpers shared by the retention and legal-hold tests."""

from __future__ import annotations

import secrets
from typing import Any

from tests.conftest import Homeserver, UserClient

DAY_S = 86_400
DAY_MS = DAY_S * 1000
POLICY = "/_bastion/admin/v1/policy"
HOLDS = "/_bastion/admin/v1/holds"
PURGE = "/_bastion/admin/v1/retention/purge"


async def set_retention(admin: UserClient, **retention: Any) -> None:
    """Put a policy whose `retention` section is `retention` in force."""
    resp = await admin.put(POLICY, json={"retention": retention})
    assert resp.status_code == 200, resp.text


async def set_room_lifetime(user: UserClient, room_id: str, max_lifetime: int) -> None:
    """Send the room's `m.room.retention` state (MSC1763)."""
    resp = await user.put(
        f"/rooms/{room_id}/state/m.room.retention/", json={"max_lifetime": max_lifetime}
    )
    assert resp.status_code == 200, resp.text


async def send(user: UserClient, room_id: str, event_type: str, content: dict[str, Any]) -> str:
    txn = secrets.token_hex(8)
    resp = await user.put(f"/rooms/{room_id}/send/{event_type}/{txn}", json=content)
    assert resp.status_code == 200, resp.text
    event_id: str = resp.json()["event_id"]
    return event_id


async def place_hold(actor: UserClient, **spec: Any) -> str:
    resp = await actor.post(HOLDS, json={"case": "case-1", "reason": "litigation", **spec})
    assert resp.status_code == 200, resp.text
    hold_id: str = resp.json()["hold_id"]
    return hold_id


async def purge(admin: UserClient, *, dry_run: bool = False) -> dict[str, Any]:
    resp = await admin.post(PURGE, json={"dry_run": dry_run})
    assert resp.status_code == 200, resp.text
    report: dict[str, Any] = resp.json()
    return report


async def event_ids_in_db(hs: Homeserver, room_id: str) -> set[str]:
    """Every event ID stored for the room (what a purge left)."""
    rows = await hs.runtime.db.fetch_all("SELECT event_id FROM events WHERE room_id = ?", room_id)
    return {row[0] for row in rows}
