"""GET/PUT/DELETE /devices/{deviceId}, GET /devices, POST /delete_devices."""

from __future__ import annotations

from tests.conftest import PASSWORD, Homeserver


async def test_rename_and_get_device(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    resp = await alice.put(f"/devices/{alice.device_id}", json={"display_name": "Ward PC"})
    assert resp.status_code == 200
    device = (await alice.get(f"/devices/{alice.device_id}")).json()
    assert device["device_id"] == alice.device_id
    assert device["display_name"] == "Ward PC"
    assert device["last_seen_ts"] > 0


async def test_devices_of_other_users_are_invisible(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    resp = await alice.get(f"/devices/{bob.device_id}")
    assert (resp.status_code, resp.json()["errcode"]) == (404, "M_NOT_FOUND")
    resp = await alice.put(f"/devices/{bob.device_id}", json={"display_name": "pwned"})
    assert (resp.status_code, resp.json()["errcode"]) == (404, "M_NOT_FOUND")
    auth = {"type": "m.login.password", "user": "alice", "password": PASSWORD}
    resp = await alice.delete(f"/devices/{bob.device_id}", json={"auth": auth})
    assert (resp.status_code, resp.json()["errcode"]) == (404, "M_NOT_FOUND")
    resp = await alice.post("/delete_devices", json={"devices": [bob.device_id], "auth": auth})
    assert resp.status_code == 200  # unknown IDs are ignored ...
    assert (await bob.get("/account/whoami")).status_code == 200  # ... and bob is untouched
    assert [d["device_id"] for d in (await alice.get("/devices")).json()["devices"]] == [
        alice.device_id
    ]


async def test_delete_device_needs_password_and_logs_it_out(hs: Homeserver) -> None:
    await hs.create_user("alice")
    phone = await hs.login("alice")
    laptop = await hs.login("alice")
    resp = await phone.delete(f"/devices/{laptop.device_id}")
    assert resp.status_code == 401
    assert resp.json()["flows"] == [{"stages": ["m.login.password"]}]
    auth = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": "alice"},
        "password": PASSWORD,
        "session": resp.json()["session"],
    }
    resp = await phone.delete(f"/devices/{laptop.device_id}", json={"auth": auth})
    assert resp.status_code == 200
    assert (await laptop.get("/account/whoami")).json()["errcode"] == "M_UNKNOWN_TOKEN"
    assert (await phone.get("/account/whoami")).status_code == 200


async def test_delete_devices_in_bulk(hs: Homeserver) -> None:
    await hs.create_user("alice")
    clients = [await hs.login("alice") for _ in range(3)]
    keep, *drop = clients
    resp = await keep.post("/delete_devices", json={"devices": [c.device_id for c in drop]})
    assert resp.status_code == 401
    auth = {"type": "m.login.password", "user": "alice", "password": "wrong password"}
    resp = await keep.post(
        "/delete_devices", json={"devices": [c.device_id for c in drop], "auth": auth}
    )
    assert (resp.status_code, resp.json()["errcode"]) == (401, "M_FORBIDDEN")
    auth["password"] = PASSWORD
    resp = await keep.post(
        "/delete_devices", json={"devices": [c.device_id for c in drop], "auth": auth}
    )
    assert resp.status_code == 200
    for client in drop:
        assert (await client.get("/account/whoami")).status_code == 401
    assert [d["device_id"] for d in (await keep.get("/devices")).json()["devices"]] == [
        keep.device_id
    ]
    resp = await keep.post("/delete_devices", json={"devices": "all"})
    assert (resp.status_code, resp.json()["errcode"]) == (400, "M_BAD_JSON")
