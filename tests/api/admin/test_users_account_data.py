"""Synapse's `GET /_synapse/admin/v1/users/<user_id>/accountdata` (docs/admin_api/
user_admin_api.md, "Account data"): "Get information about account data for a specific
user"; the answer is `account_data` with `global` ("the user's global account data") and
`rooms` ("the user's account data per room", by room ID), each mapping a type to its content.
Bastion audits the read (`user.read_account_data`): a person's settings are personal data."""

from __future__ import annotations

from urllib.parse import quote

from tests.conftest import Homeserver, errcode


async def test_global_and_per_room_account_data(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    mine = f"/user/{alice.user_id}"
    for path, body in (
        (f"{mine}/account_data/im.vector.setting.breadcrumbs", {"recent": [room_id]}),
        (f"{mine}/account_data/org.example.theme", {"dark": True}),
        (f"{mine}/rooms/{room_id}/account_data/org.example.draft", {"text": "Dzień"}),
        (f"{mine}/rooms/{room_id}/tags/m.favourite", {"order": 0.5}),
    ):
        assert (await alice.put(path, json=body)).status_code == 200, path
    # A later write replaces the earlier one.
    theme = f"/user/{alice.user_id}/account_data/org.example.theme"
    assert (await alice.put(theme, json={"dark": False})).status_code == 200

    resp = await root.get(f"/_synapse/admin/v1/users/{quote(alice.user_id)}/accountdata")

    assert resp.status_code == 200, resp.text
    data = resp.json()["account_data"]
    assert data["global"]["im.vector.setting.breadcrumbs"] == {"recent": [room_id]}
    assert data["global"]["org.example.theme"] == {"dark": False}
    assert data["rooms"][room_id]["org.example.draft"] == {"text": "Dzień"}
    assert data["rooms"][room_id]["m.tag"] == {"tags": {"m.favourite": {"order": 0.5}}}
    audited = await hs.runtime.db.fetch_all(
        "SELECT actor, target, outcome FROM audit_log WHERE action = 'user.read_account_data'"
    )
    assert [tuple(r) for r in audited] == [(root.user_id, alice.user_id, "success")]


async def test_an_account_without_account_data_and_refusals(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    bob = await hs.register_user("bob")
    resp = await root.get(f"/_synapse/admin/v1/users/{quote(bob.user_id)}/accountdata")
    assert resp.status_code == 200, resp.text
    assert resp.json()["account_data"]["rooms"] == {}
    unknown = await root.get(f"/_synapse/admin/v1/users/@nobody:{hs.server_name}/accountdata")
    assert errcode(unknown) == (404, "M_NOT_FOUND")
    theirs = await bob.get(f"/_synapse/admin/v1/users/{quote(root.user_id)}/accountdata")
    assert errcode(theirs) == (403, "M_FORBIDDEN")
