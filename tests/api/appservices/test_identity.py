"""Application services acting as their users (spec: application-service-api, "Identity
assertion", "Server admin style permissions"): the as_token with `user_id` / `device_id`,
registration and login of a service's users, exclusive namespaces, and every refusal. On
SQLite and PostgreSQL, through the HTTP API."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from bastion.config import DatabaseConfig
from bastion.errors import MatrixError
from bastion.store.protocols.audit import AuditQuery
from tests.api.appservice_fixtures import (
    AS_TOKEN,
    OPS_TOKEN,
    ActingService,
)
from tests.api.scim.scim_helpers import ERROR, USER, Scim, scim_token
from tests.conftest import OPERATOR, Homeserver, client_path, errcode, homeserver_with

BOT = "@bridgebot:test.bastion"
GHOST = "@_bridge_alice:test.bastion"


async def test_the_token_acts_as_the_sender_created_on_first_use(hs: Homeserver) -> None:
    service = ActingService(hs.http)
    resp = await service.request("GET", "/account/whoami")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"user_id": BOT, "is_guest": False}  # no device named: none
    rows = await hs.runtime.services.audit_log.list(OPERATOR, AuditQuery(target=BOT))
    assert [(r.actor_kind, r.actor, r.action) for r in rows] == [
        ("app_service", "bridge", "user.create")
    ]


async def test_registering_a_user_then_acting_as_it(hs: Homeserver) -> None:
    service = ActingService(hs.http)
    assert errcode(await service.request("GET", "/account/whoami", user_id=GHOST)) == (
        403,
        "M_FORBIDDEN",
    )  # not registered yet
    resp = await service.register("_bridge_alice", inhibit_login=True)
    assert resp.status_code == 200, resp.text
    assert resp.json()["user_id"] == GHOST
    assert "access_token" not in resp.json()
    resp = await service.request("GET", "/account/whoami", user_id=GHOST)
    assert resp.json()["user_id"] == GHOST
    # the ghost acts: a room, a message, its profile
    resp = await service.request("POST", "/createRoom", user_id=GHOST, json={"name": "bridged"})
    assert resp.status_code == 200, resp.text
    room_id = resp.json()["room_id"]
    resp = await service.request(
        "PUT", f"/rooms/{room_id}/send/m.room.message/t1", user_id=GHOST,
        json={"msgtype": "m.text", "body": "from the other network"},
    )  # fmt: skip
    assert resp.status_code == 200, resp.text
    resp = await service.request("GET", f"/rooms/{room_id}/state/m.room.create", user_id=GHOST)
    assert resp.status_code == 200
    assert errcode(await service.register("_bridge_alice", inhibit_login=True)) == (
        400,
        "M_USER_IN_USE",
    )


async def test_registration_with_login_gives_a_working_token(hs: Homeserver) -> None:
    resp = await ActingService(hs.http).register("_bridge_bob", device_id="BRIDGEDEV")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["device_id"] == "BRIDGEDEV"
    whoami = await hs.http.get(
        "/_matrix/client/v3/account/whoami",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert whoami.json()["user_id"] == "@_bridge_bob:test.bastion"


async def test_registration_refusals(hs: Homeserver) -> None:
    service = ActingService(hs.http)
    assert errcode(await service.register("carol", inhibit_login=True)) == (400, "M_EXCLUSIVE")
    assert errcode(await service.register("", inhibit_login=True)) == (400, "M_MISSING_PARAM")
    body = {"type": "m.login.application_service", "username": "_bridge_x"}
    assert errcode(await hs.http.post("/_matrix/client/v3/register", json=body)) == (
        401,
        "M_MISSING_TOKEN",
    )
    wrong = ActingService(hs.http, token="not-a-token")
    assert errcode(await wrong.register("_bridge_x")) == (401, "M_UNKNOWN_TOKEN")
    # another service may not take the bridge's exclusive namespace
    assert errcode(await ActingService(hs.http, OPS_TOKEN).register("_bridge_y")) == (
        400,
        "M_EXCLUSIVE",
    )


async def test_nobody_else_creates_users_or_aliases_in_an_exclusive_namespace(
    hs: Homeserver,
) -> None:
    with pytest.raises(MatrixError) as refused:
        await hs.create_user("whatsapp_mallory")  # an admin creating an account
    assert refused.value.errcode == "M_EXCLUSIVE"
    human = await hs.register_user("human")
    room_id = await human.create_room()
    assert errcode(
        await human.put("/directory/room/%23_bridge_room:test.bastion", json={"room_id": room_id})
    ) == (400, "M_EXCLUSIVE")
    assert errcode(await human.post("/createRoom", json={"room_alias_name": "_bridge_r"})) == (
        400,
        "M_EXCLUSIVE",
    )
    assert (await human.put("/directory/room/%23mine:test.bastion", json={"room_id": room_id})
            ).status_code == 200  # fmt: skip
    # the service itself may
    service = ActingService(hs.http)
    await service.register("_bridge_alice", inhibit_login=True)
    resp = await service.request(
        "POST", "/createRoom", user_id=GHOST, json={"room_alias_name": "_bridge_portal"}
    )
    assert resp.status_code == 200, resp.text


async def test_masquerading_refusals(hs: Homeserver) -> None:
    service = ActingService(hs.http)
    await hs.create_user("outsider")
    assert errcode(
        await service.request("GET", "/account/whoami", user_id="@outsider:test.bastion")
    ) == (403, "M_FORBIDDEN")
    await service.register("_bridge_alice", inhibit_login=True)
    assert errcode(
        await service.request("GET", "/account/whoami", user_id=GHOST, device_id="NOPE")
    ) == (400, "M_UNKNOWN_DEVICE")
    await hs.runtime.services.accounts.deactivate(OPERATOR, GHOST)
    assert errcode(await service.request("GET", "/account/whoami", user_id=GHOST)) == (
        403,
        "M_USER_DEACTIVATED",
    )


@pytest.mark.parametrize("ending", ["deactivated", "locked"])
async def test_a_parked_sync_of_a_deviceless_user_ends_with_the_account(
    hs: Homeserver, ending: str
) -> None:
    """A service's long-poll as a user it acts for without a device ends when an admin
    deactivates or locks the account (both revoke the user's sessions, waking the poll), with
    the refusal the service's next request gets, not a 200 when its timeout ends."""
    service = ActingService(hs.http)
    await service.register("_bridge_alice", inhibit_login=True)
    headers = {"Authorization": f"Bearer {AS_TOKEN}"}
    first = await hs.http.get(
        client_path("/sync"), params={"user_id": GHOST, "timeout": "0"}, headers=headers
    )
    assert first.status_code == 200, first.text
    params = {"user_id": GHOST, "since": first.json()["next_batch"], "timeout": "30000"}
    parked = asyncio.create_task(hs.http.get(client_path("/sync"), params=params, headers=headers))
    await hs.wait_for_waiting_syncs(1)
    if ending == "deactivated":
        await hs.runtime.services.accounts.deactivate(OPERATOR, GHOST)
        refused = (403, "M_USER_DEACTIVATED")
    else:
        await hs.runtime.services.admin_users.set_locked(OPERATOR, GHOST, True)
        refused = (401, "M_USER_LOCKED")
    assert errcode(await asyncio.wait_for(parked, 10)) == refused
    again = await hs.http.get(client_path("/sync"), params=params, headers=headers)
    assert errcode(again) == refused


async def test_a_locked_user_cannot_be_acted_as(hs: Homeserver) -> None:
    service = ActingService(hs.http)
    await service.register("_bridge_alice", inhibit_login=True)
    await hs.runtime.services.admin_users.set_locked(OPERATOR, GHOST, True)
    assert errcode(await service.request("GET", "/account/whoami", user_id=GHOST)) == (
        401,
        "M_USER_LOCKED",
    )


async def test_an_admin_in_a_namespace_is_no_admin_through_the_service(hs: Homeserver) -> None:
    await hs.create_user("opsadmin", admin=True)
    ops = ActingService(hs.http, OPS_TOKEN)
    resp = await ops.request("GET", "/account/whoami", user_id="@opsadmin:test.bastion")
    assert resp.json()["user_id"] == "@opsadmin:test.bastion"
    resp = await hs.http.get(
        "/_synapse/admin/v2/users",
        params={"user_id": "@opsadmin:test.bastion"},
        headers={"Authorization": f"Bearer {OPS_TOKEN}"},
    )
    assert errcode(resp) == (403, "M_FORBIDDEN")


async def test_login_as_a_user_of_the_service(hs: Homeserver) -> None:
    flows = (await hs.http.get("/_matrix/client/v3/login")).json()["flows"]
    assert {"type": "m.login.application_service"} in flows
    service = ActingService(hs.http)
    await service.register("_bridge_alice", inhibit_login=True)
    body = {
        "type": "m.login.application_service",
        "identifier": {"type": "m.id.user", "user": "_bridge_alice"},
        "device_id": "GHOSTDEV",
    }
    resp = await service.request("POST", "/login", json=body)
    assert resp.status_code == 200, resp.text
    assert resp.json()["device_id"] == "GHOSTDEV"
    # the device now exists: the service may act as it
    resp = await service.request("GET", "/account/whoami", user_id=GHOST, device_id="GHOSTDEV")
    assert resp.json() == {"user_id": GHOST, "device_id": "GHOSTDEV", "is_guest": False}
    await hs.create_user("dave")
    body["identifier"] = {"type": "m.id.user", "user": "dave"}
    assert errcode(await service.request("POST", "/login", json=body)) == (403, "M_EXCLUSIVE")
    assert errcode(await hs.http.post("/_matrix/client/v3/login", json=body)) == (
        401,
        "M_MISSING_TOKEN",
    )


async def test_timestamp_massaging(hs: Homeserver) -> None:
    """Spec: application-service-api#timestamp-massaging: `ts` on send and state, services
    only; anything not a valid origin_server_ts is a bad request."""
    service = ActingService(hs.http)
    await service.register("_bridge_alice", inhibit_login=True)
    resp = await service.request("POST", "/createRoom", user_id=GHOST, json={})
    room_id = resp.json()["room_id"]
    then = 1_600_000_000_000

    async def sent_at(path: str, ts: str, user: str | None = GHOST) -> httpx.Response:
        return await hs.http.put(
            client_path(path),
            params={"ts": ts, **({"user_id": user} if user else {})},
            json={"msgtype": "m.text", "body": "bridged late", "name": "portal"},
            headers={"Authorization": f"Bearer {AS_TOKEN}"},
        )

    sent = await sent_at(f"/rooms/{room_id}/send/m.room.message/m1", str(then))
    assert sent.status_code == 200, sent.text
    state = await sent_at(f"/rooms/{room_id}/state/m.room.name/", str(then + 5))
    assert state.status_code == 200, state.text
    for event_id, expected in (
        (sent.json()["event_id"], then),
        (state.json()["event_id"], then + 5),
    ):
        resp = await service.request("GET", f"/rooms/{room_id}/event/{event_id}", user_id=GHOST)
        assert resp.json()["origin_server_ts"] == expected
    for bad in ("soon", "-5", str(hs.clock.now_ms() + 3_600_000)):
        resp = await sent_at(f"/rooms/{room_id}/send/m.room.message/b{bad}", bad)
        assert errcode(resp) == (400, "M_INVALID_PARAM"), bad
    # a person's `ts` is not theirs to set: ignored
    human = await hs.register_user("human")
    own = await human.create_room()
    resp = await human.put(
        f"/rooms/{own}/send/m.room.message/h1", params={"ts": str(then)},
        json={"msgtype": "m.text", "body": "now"},
    )  # fmt: skip
    event = await human.get(f"/rooms/{own}/event/{resp.json()['event_id']}")
    assert event.json()["origin_server_ts"] == hs.clock.now_ms()


async def test_a_service_deletes_its_users_devices_without_a_password(hs: Homeserver) -> None:
    """Spec v1.17 (application-service-api#deleting-devices): no User-Interactive Auth for a
    service; a person still has to give their password."""
    service = ActingService(hs.http)
    await service.register("_bridge_alice", inhibit_login=True, device_id="OLD")
    await service.register("_bridge_bob", inhibit_login=False, device_id="BOBDEV")
    login = {
        "type": "m.login.application_service",
        "identifier": {"type": "m.id.user", "user": "_bridge_alice"},
        "device_id": "GHOSTDEV",
    }
    assert (await service.request("POST", "/login", json=login)).status_code == 200
    resp = await service.request(
        "POST", "/delete_devices", user_id=GHOST, json={"devices": ["GHOSTDEV"]}
    )
    assert resp.status_code == 200, resp.text
    assert errcode(
        await service.request("GET", "/account/whoami", user_id=GHOST, device_id="GHOSTDEV")
    ) == (400, "M_UNKNOWN_DEVICE")
    human = await hs.register_user("human")
    resp = await human.post("/delete_devices", json={"devices": [human.device_id]})
    assert resp.status_code == 401
    assert "flows" in resp.json()  # asked for the password


async def test_scim_cannot_provision_a_user_a_service_reserved(hs: Homeserver) -> None:
    """RFC 7644 §3.12: 409 `uniqueness`, "One or more of the attribute values are already in
    use or are reserved"; no account is created."""
    scim = Scim(hs, await scim_token(hs))
    resp = await scim.request(
        "POST", "/Users", {"schemas": [USER], "userName": "whatsapp_anna", "active": True}
    )
    assert resp.status_code == 409, resp.text
    assert resp.json()["schemas"] == [ERROR]
    assert resp.json()["scimType"] == "uniqueness"
    assert await hs.runtime.services.accounts.is_available("whatsapp_anna")


async def test_a_deactivated_bot_stays_deactivated_and_the_server_still_starts(
    hs: Homeserver,
    tmp_path: Path,
    database_config: DatabaseConfig,
    config_overrides: dict[str, Any],
) -> None:
    await hs.runtime.services.accounts.deactivate(OPERATOR, BOT)  # an admin stops the bridge
    async with homeserver_with(tmp_path, database_config, **config_overrides) as restarted:
        resp = await ActingService(restarted.http).request("GET", "/account/whoami")
        assert errcode(resp) == (403, "M_USER_DEACTIVATED")
