"""Helpers shared by the DLP API tests."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx

from tests.conftest import Homeserver, UserClient

POLICY = "/_bastion/admin/v1/policy"
REVIEWS = "/_bastion/admin/v1/dlp/reviews"
TEST = "/_bastion/admin/v1/dlp/test"
CARD = "4111 1111 1111 1111"
ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x0660 + d) for d in range(10)))
CARD_ARABIC = CARD.translate(ARABIC_INDIC)  # the same card in Arabic-Indic digits
BAD_LUHN_CARD = "4111 1111 1111 1112"
IBAN = "PL61 1090 1014 0000 0712 1981 2874"


def dlp_policy(name: str, action: str, *detectors: Any, **scope: list[str]) -> dict[str, Any]:
    return {"name": name, "detectors": list(detectors), "action": action, "scope": scope}


async def set_dlp(admin: UserClient, *policies: dict[str, Any], language: str = "en") -> None:
    """Put a policy document whose `dlp` section holds `policies` in force."""
    dlp = {"policies": list(policies), "language": language}
    resp = await admin.put(POLICY, json={"dlp": dlp})
    assert resp.status_code == 200, resp.text


async def send_message(user: UserClient, room_id: str, content: dict[str, Any]) -> httpx.Response:
    txn = secrets.token_hex(8)
    return await user.put(f"/rooms/{room_id}/send/m.room.message/{txn}", json=content)


async def text(user: UserClient, room_id: str, body: str) -> httpx.Response:
    return await send_message(user, room_id, {"msgtype": "m.text", "body": body})


async def content_of(user: UserClient, room_id: str, event_id: str) -> dict[str, Any]:
    resp = await user.get(f"/rooms/{room_id}/event/{event_id}")
    assert resp.status_code == 200, resp.text
    content: dict[str, Any] = resp.json()["content"]
    return content


async def dlp_audit(hs: Homeserver) -> list[tuple[str, str, str | None, dict[str, Any]]]:
    """(action, actor, target, details) of every `dlp.*` audit record, oldest first."""
    rows = await hs.runtime.db.fetch_all(
        "SELECT action, actor, target, details FROM audit_log WHERE action LIKE 'dlp.%'"
        " ORDER BY seq"
    )
    return [(r[0], r[1], r[2], json.loads(r[3])) for r in rows]


async def audit_text(hs: Homeserver) -> str:
    """Every audit record's details, as one text (to prove a secret is not in it)."""
    rows = await hs.runtime.db.fetch_all("SELECT details FROM audit_log")
    return "\n".join(r[0] for r in rows)
