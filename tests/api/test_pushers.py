"""GET /pushers and POST /pushers/set (spec: client-server-api#push-notifications), the gateway
allowlist, and pushers going away with their device."""

from __future__ import annotations

from typing import Any

from bastion.store.sql.pushers import SqlPusherStore
from tests.conftest import OPERATOR, PASSWORD, Homeserver, UserClient, errcode

GATEWAY = "https://matrix.org/_matrix/push/v1/notify"


def pusher_body(pushkey: str = "key-1", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "http",
        "app_id": "com.example.app.android",
        "pushkey": pushkey,
        "app_display_name": "Example",
        "device_display_name": "Alice's phone",
        "profile_tag": "xyz",
        "lang": "en-GB",
        "data": {"url": GATEWAY, "format": "event_id_only", "brand": "ours"},
    }
    body.update(changes)
    return body


async def pushers_of(user: UserClient) -> list[dict[str, Any]]:
    resp = await user.get("/pushers")
    assert resp.status_code == 200, resp.text
    pushers: list[dict[str, Any]] = resp.json()["pushers"]
    return pushers


async def test_set_then_get_then_delete(hs: Homeserver) -> None:
    """'If kind is not null, the pusher with this app_id and pushkey for this user is updated,
    or it is created if it doesn't exist. If kind is null, [it] is deleted.'"""
    alice = await hs.register_user("alice")
    assert await pushers_of(alice) == []
    resp = await alice.post("/pushers/set", json=pusher_body())
    assert resp.status_code == 200, resp.text
    assert resp.json() == {}
    assert await pushers_of(alice) == [pusher_body()]

    updated = pusher_body(lang="fr", device_display_name="Alice's tablet")
    assert (await alice.post("/pushers/set", json=updated)).status_code == 200
    assert await pushers_of(alice) == [updated]

    delete = {"kind": None, "app_id": "com.example.app.android", "pushkey": "key-1"}
    assert (await alice.post("/pushers/set", json=delete)).status_code == 200
    assert await pushers_of(alice) == []


async def test_missing_and_invalid_parameters(hs: Homeserver) -> None:
    """400 'One or more of the pusher values were invalid' (M_MISSING_PARAM in the example);
    data.url is 'Required if kind is http ... MUST be an HTTPS URL with a path of
    /_matrix/push/v1/notify'; format's only value is event_id_only."""
    alice = await hs.register_user("alice")
    no_lang = {k: v for k, v in pusher_body().items() if k != "lang"}
    assert errcode(await alice.post("/pushers/set", json=no_lang)) == (400, "M_MISSING_PARAM")
    assert errcode(await alice.post("/pushers/set", json={"kind": "http"})) == (
        400,
        "M_MISSING_PARAM",
    )
    no_url = pusher_body(data={"format": "event_id_only"})
    assert errcode(await alice.post("/pushers/set", json=no_url)) == (400, "M_MISSING_PARAM")
    invalid = [
        pusher_body(kind="email"),
        pusher_body(data={"url": "https://matrix.org/notify"}),
        pusher_body(data={"url": "/_matrix/push/v1/notify"}),
        pusher_body(data={"url": "http://matrix.org/_matrix/push/v1/notify"}),
        pusher_body(data={"url": GATEWAY, "format": "full"}),
        pusher_body(app_id="a" * 65),
        pusher_body(pushkey="k" * 513),
    ]
    for body in invalid:
        assert errcode(await alice.post("/pushers/set", json=body)) == (400, "M_INVALID_PARAM")
    assert await pushers_of(alice) == []


async def test_gateway_host_not_in_allowlist_is_refused(hs: Homeserver) -> None:
    """`[push] allowed_gateway_urls` decides where notification metadata may go; a pusher for
    another gateway is refused with a message naming its host."""
    alice = await hs.register_user("alice")
    body = pusher_body(data={"url": "https://push.example.net/_matrix/push/v1/notify"})
    resp = await alice.post("/pushers/set", json=body)
    assert errcode(resp) == (400, "M_INVALID_PARAM")
    assert "push.example.net" in resp.json()["error"]
    assert await pushers_of(alice) == []


async def test_append_false_removes_other_users_pushers(hs: Homeserver) -> None:
    """'If true, the homeserver should add another pusher with the given pushkey and App ID in
    addition to any others with different user IDs. Otherwise, the homeserver must remove any
    other pushers with the same App ID and pushkey for different users.'"""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    assert (await alice.post("/pushers/set", json=pusher_body())).status_code == 200
    assert (await bob.post("/pushers/set", json=pusher_body(append=True))).status_code == 200
    assert len(await pushers_of(alice)) == 1
    assert len(await pushers_of(bob)) == 1
    assert (await bob.post("/pushers/set", json=pusher_body())).status_code == 200
    assert await pushers_of(alice) == []
    assert len(await pushers_of(bob)) == 1


async def test_pusher_goes_with_its_device(hs: Homeserver) -> None:
    """Pushers belong to the access token's device: logging out or deleting the device
    removes them; another device's pusher stays."""
    await hs.create_user("alice")
    phone, laptop, tablet = [await hs.login("alice") for _ in range(3)]
    for client, key in ((phone, "p"), (laptop, "l"), (tablet, "t")):
        assert (await client.post("/pushers/set", json=pusher_body(key))).status_code == 200
    assert (await phone.post("/logout")).status_code == 200
    auth = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": "alice"},
        "password": PASSWORD,
    }
    resp = await tablet.post("/delete_devices", json={"devices": [laptop.device_id], "auth": auth})
    assert resp.status_code == 200, resp.text
    assert [p["pushkey"] for p in await pushers_of(tablet)] == ["t"]


async def test_deactivation_removes_pushers(hs: Homeserver) -> None:
    """A deactivated account's pushers are deleted with its devices."""
    alice = await hs.register_user("alice")
    assert (await alice.post("/pushers/set", json=pusher_body())).status_code == 200
    store = SqlPusherStore()
    assert len(await store.pushers_of(hs.runtime.db, alice.user_id)) == 1
    await hs.runtime.services.accounts.deactivate(OPERATOR, alice.user_id)
    assert await store.pushers_of(hs.runtime.db, alice.user_id) == []
