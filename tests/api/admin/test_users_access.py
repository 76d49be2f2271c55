"""Every users admin route refuses a non-admin (issue #12 §1: "Only server admins (403
`M_FORBIDDEN` otherwise, tested for every route)"), and Bastion's own account endpoints.

Issue #12: "users' `manager`" in Bastion's own API; the manager is "their `manager` if set and
a member" when a successor is needed, so it must be a real local account other than the user.
"""

from __future__ import annotations

import pytest

from tests.api.admin.users_helpers import audit_rows, root
from tests.conftest import Homeserver, errcode

U = "@alice:test.bastion"
ROUTES = [
    ("GET", "/_synapse/admin/v2/users"),
    ("GET", "/_synapse/admin/v3/users"),
    ("GET", f"/_synapse/admin/v2/users/{U}"),
    ("PUT", f"/_synapse/admin/v2/users/{U}"),
    ("POST", f"/_synapse/admin/v1/reset_password/{U}"),
    ("GET", f"/_synapse/admin/v1/whois/{U}"),
    ("GET", f"/_synapse/admin/v2/users/{U}/devices"),
    ("GET", f"/_synapse/admin/v2/users/{U}/devices/DEVICE"),
    ("PUT", f"/_synapse/admin/v2/users/{U}/devices/DEVICE"),
    ("DELETE", f"/_synapse/admin/v2/users/{U}/devices/DEVICE"),
    ("POST", f"/_synapse/admin/v2/users/{U}/delete_devices"),
    ("GET", f"/_synapse/admin/v1/users/{U}/joined_rooms"),
    ("GET", f"/_synapse/admin/v1/users/{U}/media"),
    ("GET", f"/_synapse/admin/v1/users/{U}/pushers"),
    ("GET", f"/_bastion/admin/v1/users/{U}"),
    ("PUT", f"/_bastion/admin/v1/users/{U}"),
    ("POST", f"/_bastion/admin/v1/users/{U}/unlock"),
    ("GET", f"/_matrix/client/v1/admin/lock/{U}"),
    ("PUT", f"/_matrix/client/v1/admin/lock/{U}"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_a_non_admin_is_refused(hs: Homeserver, method: str, path: str) -> None:
    bob = await hs.register_user("bob")
    await hs.create_user("alice")
    resp = await bob.http.request(
        method, path, json={"devices": [], "new_password": "x" * 20}, headers=bob_headers(bob.token)
    )
    assert errcode(resp) == (403, "M_FORBIDDEN")
    anonymous = await hs.http.request(method, path)
    assert errcode(anonymous) == (401, "M_MISSING_TOKEN")


def bob_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_manager_is_set_checked_and_cleared(hs: Homeserver) -> None:
    admin = await root(hs)
    alice = await hs.create_user("alice")
    boss = await hs.create_user("boss")
    path = f"/_bastion/admin/v1/users/{alice}"
    assert (await admin.get(path)).json()["manager"] is None
    resp = await admin.put(path, json={"manager": boss})
    assert resp.status_code == 200, resp.text
    assert resp.json()["manager"] == boss
    assert (await admin.get(path)).json()["manager"] == boss
    for manager, expected in (
        (alice, (400, "M_INVALID_PARAM")),
        (f"@nobody:{hs.server_name}", (404, "M_NOT_FOUND")),
        ("@boss:elsewhere.example", (400, "M_INVALID_PARAM")),
    ):
        assert errcode(await admin.put(path, json={"manager": manager})) == expected, manager
    assert errcode(await admin.put(path, json={"managr": boss})) == (400, "M_BAD_JSON")
    assert (await admin.put(path, json={"manager": None})).json()["manager"] is None
    records = await audit_rows(hs, "user.set_manager", alice)
    assert [r["outcome"] for r in records] == ["success", *["failure"] * 3, "success"]
    assert errcode(await admin.get(f"/_bastion/admin/v1/users/@x:{hs.server_name}")) == (
        404,
        "M_NOT_FOUND",
    )


async def test_login_quirks_of_the_web_uis(hs: Homeserver) -> None:
    """Issue #12: the web UIs "log in on the legacy `r0` path with `"device_id": null` in the
    body, and the login response must keep `home_server`"."""
    await hs.create_user("alice")
    for prefix in ("/_matrix/client/r0", "/_matrix/client/v3"):
        resp = await hs.http.post(
            f"{prefix}/login",
            json={
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": "alice"},
                "password": "correct horse battery staple",
                "device_id": None,
                "initial_device_display_name": None,
            },
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["home_server"] == hs.server_name
        assert body["device_id"]
