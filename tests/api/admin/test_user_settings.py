"""Synapse's small user admin endpoints (api/admin/synapse/user_settings.py, `memberships` in
user_info.py, `username_available` in users.py). Synapse's docs:
`GET /_synapse/admin/v1/users/<user_id>/admin` answers `{"admin": true}`; `PUT` with `{"admin":
true}` changes it, and "you cannot demote yourself"; `/memberships` "returns rooms with
memberships other than "join"" as `{"memberships": {room_id: membership}}`;
`username_available` "will work even if registration is disabled on the server" and answers as
`/register/available`."""

from __future__ import annotations

import json

from tests.conftest import Homeserver, errcode

ADMIN = "/_synapse/admin/v1"


async def test_an_admin_makes_and_unmakes_server_admins(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    path = f"{ADMIN}/users/{alice.user_id}/admin"
    assert (await root.get(path)).json() == {"admin": False}
    assert errcode(await alice.get(f"{ADMIN}/users/{alice.user_id}/admin")) == (403, "M_FORBIDDEN")

    resp = await root.put(path, json={"admin": True})
    assert (resp.status_code, resp.json()) == (200, {})
    assert (await root.get(path)).json() == {"admin": True}
    assert (await alice.get("/_synapse/admin/v2/users")).status_code == 200  # now an admin
    resp = await root.put(path, json={"admin": False})
    assert (await root.get(path)).json() == {"admin": False}
    assert errcode(await alice.get("/_synapse/admin/v2/users")) == (403, "M_FORBIDDEN")

    own = await root.put(f"{ADMIN}/users/{root.user_id}/admin", json={"admin": False})
    assert errcode(own) == (400, "M_INVALID_PARAM")
    assert (await root.get(f"{ADMIN}/users/{root.user_id}/admin")).json() == {"admin": True}
    for body, expected in (({}, (400, "M_MISSING_PARAM")), ({"admin": "yes"}, (400, "M_BAD_JSON"))):
        assert errcode(await root.put(path, json=body)) == expected
    unknown = f"{ADMIN}/users/@nobody:{hs.server_name}/admin"
    assert errcode(await root.put(unknown, json={"admin": True})) == (404, "M_NOT_FOUND")
    assert errcode(await root.get(unknown)) == (404, "M_NOT_FOUND")
    assert (
        await hs.runtime.db.fetch_val(
            "SELECT COUNT(*) FROM users WHERE user_id = ?", f"@nobody:{hs.server_name}"
        )
        == 0
    )
    rows = await hs.runtime.db.fetch_all(
        "SELECT target, outcome, details FROM audit_log WHERE action = 'user.update' ORDER BY seq"
    )
    changes = [(r[0], r[1], json.loads(r[2]).get("fields")) for r in rows]
    assert changes[:2] == [
        (alice.user_id, "success", ["admin"]),
        (alice.user_id, "success", ["admin"]),
    ]
    assert changes[2][:2] == (root.user_id, "failure")


async def test_memberships_include_rooms_left_and_invited(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    joined = await alice.create_room()
    left = await alice.create_room()
    invited = await bob.create_room(invite=[alice.user_id])
    assert (await alice.post(f"/rooms/{left}/leave", json={})).status_code == 200
    resp = await root.get(f"{ADMIN}/users/{alice.user_id}/memberships")
    assert resp.json() == {"memberships": {joined: "join", left: "leave", invited: "invite"}}
    unknown = await root.get(f"{ADMIN}/users/@nobody:{hs.server_name}/memberships")
    assert errcode(unknown) == (404, "M_NOT_FOUND")
    assert errcode(await alice.get(f"{ADMIN}/users/{alice.user_id}/memberships")) == (
        403,
        "M_FORBIDDEN",
    )


async def test_username_availability_in_every_registration_mode(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    # Registration is disabled (the default): the client API's check refuses, the admin's works.
    assert errcode(await alice.get("/register/available", params={"username": "new"})) == (
        403,
        "M_FORBIDDEN",
    )
    path = f"{ADMIN}/username_available"
    resp = await root.get(path, params={"username": "new.person"})
    assert (resp.status_code, resp.json()) == (200, {"available": True})
    assert errcode(await root.get(path, params={"username": "alice"})) == (400, "M_USER_IN_USE")
    assert errcode(await root.get(path, params={"username": "Not Valid"}))[0] == 400
    assert errcode(await root.get(path)) == (400, "M_MISSING_PARAM")
    assert errcode(await alice.get(path, params={"username": "x"})) == (403, "M_FORBIDDEN")
