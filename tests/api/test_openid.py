"""OpenID tokens, from the spec's text (client-server-api#openid, server-server-api#openid): a
client asks for one for its own user; a third party exchanges it for the user ID at
`/_matrix/federation/v1/openid/userinfo` until it expires; and (Bastion's promise) an offboarded
or admin-locked account's tokens stop naming it at once."""

from __future__ import annotations

from typing import Any

from bastion.services.openid import TOKEN_LIFETIME_S
from tests.conftest import Homeserver, UserClient, errcode

USERINFO = "/_matrix/federation/v1/openid/userinfo"


async def request_token(user: UserClient, user_id: str | None = None) -> dict[str, Any]:
    resp = await user.post(f"/user/{user_id or user.user_id}/openid/request_token", json={})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def userinfo(hs: Homeserver, token: str) -> tuple[int, dict[str, Any]]:
    resp = await hs.http.get(USERINFO, params={"access_token": token})
    return resp.status_code, resp.json()


async def test_a_token_names_its_user_until_it_expires(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    token = await request_token(alice)
    assert token["token_type"] == "Bearer"
    assert token["matrix_server_name"] == "test.bastion"
    assert token["expires_in"] == TOKEN_LIFETIME_S
    assert token["access_token"] != alice.token
    assert await userinfo(hs, token["access_token"]) == (200, {"sub": alice.user_id})
    # The OpenID token is not an access token, nor the other way round.
    assert errcode(await hs.http.get("/_matrix/client/v3/account/whoami", headers={
        "Authorization": f"Bearer {token['access_token']}"
    })) == (401, "M_UNKNOWN_TOKEN")  # fmt: skip
    status, body = await userinfo(hs, alice.token)
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")

    hs.clock.advance(TOKEN_LIFETIME_S - 1)
    assert (await userinfo(hs, token["access_token"]))[0] == 200
    hs.clock.advance(1)
    status, body = await userinfo(hs, token["access_token"])
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    # A new token still works after the expired one was dropped.
    fresh = await request_token(alice)
    assert await userinfo(hs, fresh["access_token"]) == (200, {"sub": alice.user_id})


async def test_only_for_ones_own_user_and_only_signed_in(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    resp = await alice.post(f"/user/{bob.user_id}/openid/request_token", json={})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    resp = await hs.http.post(
        f"/_matrix/client/v3/user/{alice.user_id}/openid/request_token", json={}
    )
    assert errcode(resp) == (401, "M_MISSING_TOKEN")
    for params in ({}, {"access_token": ""}, {"access_token": "not-a-token"}):
        resp = await hs.http.get(USERINFO, params=params)
        assert errcode(resp) == (401, "M_UNKNOWN_TOKEN"), params


async def test_offboarding_and_locking_end_the_tokens_at_once(hs: Homeserver) -> None:
    admin = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    alices = (await request_token(alice))["access_token"]
    bobs = (await request_token(bob))["access_token"]

    lock = await admin.put(f"/_matrix/client/v1/admin/lock/{bob.user_id}", json={"locked": True})
    assert lock.status_code == 200, lock.text
    assert (await userinfo(hs, bobs))[0] == 401
    unlock = await admin.put(f"/_matrix/client/v1/admin/lock/{bob.user_id}", json={"locked": False})
    assert unlock.status_code == 200, unlock.text
    assert await userinfo(hs, bobs) == (200, {"sub": bob.user_id})

    deactivate = await admin.post(f"/_synapse/admin/v1/deactivate/{alice.user_id}", json={})
    assert deactivate.status_code == 200, deactivate.text
    status, body = await userinfo(hs, alices)
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")
