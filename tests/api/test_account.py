"""Password change and deactivation through User-Interactive Auth."""

from __future__ import annotations

from typing import Any

from tests.conftest import PASSWORD, Homeserver, UserClient

NEW_PASSWORD = "a much better passphrase"


def password_auth(user: UserClient, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
    return {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user.user_id},
        "password": password,
        **extra,
    }


async def test_password_change_needs_uia_and_logs_out_other_devices(hs: Homeserver) -> None:
    await hs.create_user("alice")
    phone = await hs.login("alice")
    laptop = await hs.login("alice")

    resp = await phone.post("/account/password", json={"new_password": NEW_PASSWORD})
    assert resp.status_code == 401
    challenge = resp.json()
    assert challenge["flows"] == [{"stages": ["m.login.password"]}]
    assert challenge["session"]

    wrong = password_auth(phone, "not my password", session=challenge["session"])
    resp = await phone.post("/account/password", json={"new_password": NEW_PASSWORD, "auth": wrong})
    assert (resp.status_code, resp.json()["errcode"]) == (401, "M_FORBIDDEN")
    assert resp.json()["flows"] == [{"stages": ["m.login.password"]}]

    auth = password_auth(phone, session=challenge["session"])
    resp = await phone.post("/account/password", json={"new_password": NEW_PASSWORD, "auth": auth})
    assert resp.status_code == 200, resp.text
    assert (await phone.get("/account/whoami")).status_code == 200
    assert (await laptop.get("/account/whoami")).json()["errcode"] == "M_UNKNOWN_TOKEN"
    await hs.login("alice", NEW_PASSWORD)
    resp = await hs.http.post(
        "/_matrix/client/v3/login",
        json={"type": "m.login.password", "user": "alice", "password": PASSWORD},
    )
    assert resp.json()["errcode"] == "M_FORBIDDEN"


async def test_password_change_can_keep_other_devices(hs: Homeserver) -> None:
    await hs.create_user("alice")
    phone = await hs.login("alice")
    laptop = await hs.login("alice")
    body = {"new_password": NEW_PASSWORD, "logout_devices": False, "auth": password_auth(phone)}
    assert (await phone.post("/account/password", json=body)).status_code == 200
    assert (await laptop.get("/account/whoami")).status_code == 200


async def test_password_change_refusals(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    await hs.create_user("bob")
    resp = await alice.post(
        "/account/password", json={"new_password": "short", "auth": password_auth(alice)}
    )
    assert (resp.status_code, resp.json()["errcode"]) == (400, "M_WEAK_PASSWORD")
    # UIA as somebody else, even with their right password, is refused.
    as_bob = {"type": "m.login.password", "user": "bob", "password": PASSWORD}
    resp = await alice.post(
        "/account/password", json={"new_password": NEW_PASSWORD, "auth": as_bob}
    )
    assert (resp.status_code, resp.json()["errcode"]) == (403, "M_FORBIDDEN")
    resp = await alice.post(
        "/account/password",
        json={"new_password": NEW_PASSWORD, "auth": password_auth(alice, session="forged")},
    )
    assert (resp.status_code, resp.json()["errcode"]) == (400, "M_UNKNOWN")
    resp = await alice.post("/account/password", json={"auth": password_auth(alice)})
    assert (resp.status_code, resp.json()["errcode"]) == (400, "M_BAD_JSON")
    await hs.login("alice")  # the password did not change


async def test_deactivate_own_account(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    other_device = await hs.login("alice")
    resp = await alice.post("/account/deactivate", json={})
    assert resp.status_code == 401
    resp = await alice.post("/account/deactivate", json={"auth": password_auth(alice, "wrong!!")})
    assert (resp.status_code, resp.json()["errcode"]) == (401, "M_FORBIDDEN")
    resp = await alice.post("/account/deactivate", json={"auth": password_auth(alice)})
    assert resp.status_code == 200
    assert resp.json() == {"id_server_unbind_result": "no-support"}
    for client in (alice, other_device):
        assert (await client.get("/account/whoami")).json()["errcode"] == "M_UNKNOWN_TOKEN"
    resp = await hs.http.post(
        "/_matrix/client/v3/login",
        json={"type": "m.login.password", "user": "alice", "password": PASSWORD},
    )
    assert (resp.status_code, resp.json()["errcode"]) == (403, "M_USER_DEACTIVATED")
