"""An application service creating its users' devices with `PUT /devices/{deviceId}` (spec
v1.17: client-server-api#put_matrixclientv3devicesdeviceid, application-service-api "Device
management"), then masquerading as them, renaming and deleting them. On SQLite and PostgreSQL,
through the HTTP API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from signedjson.key import generate_signing_key, get_verify_key
from signedjson.sign import sign_json
from unpaddedbase64 import encode_base64

from bastion.config import DatabaseConfig, RateLimit, RateLimitsConfig
from bastion.store.protocols.audit import AuditQuery
from tests.api.appservice_fixtures import OPS_TOKEN, ActingService
from tests.conftest import OPERATOR, Homeserver, errcode, homeserver_with

GHOST = "@_bridge_alice:test.bastion"


def _device_keys(user_id: str, device_id: str) -> dict[str, Any]:
    """Device keys as the bridge's crypto would publish them for its ghost's device."""
    key = generate_signing_key(device_id)
    keys = {
        "user_id": user_id,
        "device_id": device_id,
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {
            f"curve25519:{device_id}": "curvekey",
            f"ed25519:{device_id}": encode_base64(get_verify_key(key).encode()),
        },
    }
    signed: dict[str, Any] = sign_json(keys, user_id, key)
    return signed


async def _device_ids(service: ActingService, user_id: str) -> list[str]:
    resp = await service.request("GET", "/devices", user_id=user_id)
    assert resp.status_code == 200, resp.text
    return [d["device_id"] for d in resp.json()["devices"]]


async def test_a_service_creates_renames_uses_and_deletes_a_device(hs: Homeserver) -> None:
    """ "When a new device was created, the homeserver MUST return a 201 HTTP status code. It
    MUST return a 200 HTTP status code if a device was updated." Then "Application services
    MAY similarly masquerade as a specific device ID" with the device it made."""
    service = ActingService(hs.http)
    await service.register("_bridge_alice", inhibit_login=True)
    assert await _device_ids(service, GHOST) == []
    resp = await service.request(
        "PUT", "/devices/BRIDGEDEV", user_id=GHOST, json={"display_name": "WhatsApp bridge"}
    )
    assert (resp.status_code, resp.json()) == (201, {})
    assert await _device_ids(service, GHOST) == ["BRIDGEDEV"]
    resp = await service.request("GET", "/devices/BRIDGEDEV", user_id=GHOST)
    assert resp.json()["display_name"] == "WhatsApp bridge"

    # masquerading as the new device (refused before it existed: identity.py)
    resp = await service.request("GET", "/account/whoami", user_id=GHOST, device_id="BRIDGEDEV")
    assert resp.json() == {"user_id": GHOST, "device_id": "BRIDGEDEV", "is_guest": False}
    resp = await service.request(
        "POST", "/keys/upload", user_id=GHOST, device_id="BRIDGEDEV",
        json={"device_keys": _device_keys(GHOST, "BRIDGEDEV")},
    )  # fmt: skip
    assert resp.status_code == 200, resp.text  # a device ID: needed to upload keys

    # the same PUT again is an update: 200, renamed, nothing new
    resp = await service.request(
        "PUT", "/devices/BRIDGEDEV", user_id=GHOST, json={"display_name": "renamed"}
    )
    assert (resp.status_code, resp.json()) == (200, {})
    # "If not given, the display name is unchanged."
    resp = await service.request("PUT", "/devices/BRIDGEDEV", user_id=GHOST, json={})
    assert resp.status_code == 200
    resp = await service.request("GET", "/devices/BRIDGEDEV", user_id=GHOST)
    assert resp.json()["display_name"] == "renamed"
    assert await _device_ids(service, GHOST) == ["BRIDGEDEV"]

    # created without a name; audited with the service as the actor
    resp = await service.request("PUT", "/devices/SECOND", user_id=GHOST, json={})
    assert resp.status_code == 201
    resp = await service.request("GET", "/devices/SECOND", user_id=GHOST)
    assert resp.json()["display_name"] is None
    rows = await hs.runtime.services.audit_log.list(OPERATOR, AuditQuery(target=GHOST))
    created = [json.loads(r.details) for r in rows if r.action == "session.create_device"]
    assert created == [
        {"device_id": device_id, "actor_name": f"{GHOST} via application service bridge"}
        for device_id in ("BRIDGEDEV", "SECOND")
    ]

    # deleting it (no UIA for a service) ends the masquerade with it
    resp = await service.request("DELETE", "/devices/BRIDGEDEV", user_id=GHOST, json={})
    assert resp.status_code == 200, resp.text
    assert await _device_ids(service, GHOST) == ["SECOND"]
    assert errcode(
        await service.request("GET", "/account/whoami", user_id=GHOST, device_id="BRIDGEDEV")
    ) == (400, "M_UNKNOWN_DEVICE")


async def test_other_users_learn_of_the_new_device(hs: Homeserver) -> None:
    """A created device is a device-list change: someone sharing a room with the user sees the
    user in `device_lists.changed`, and then the device's keys in `/keys/query`."""
    service = ActingService(hs.http)
    await service.register("_bridge_alice", inhibit_login=True)
    human = await hs.register_user("human")
    resp = await service.request(
        "POST", "/createRoom", user_id=GHOST, json={"invite": [human.user_id]}
    )
    room_id = resp.json()["room_id"]
    await human.join(room_id)
    since = (await human.sync())["next_batch"]
    quiet = await human.sync(since=since)
    assert GHOST not in quiet.get("device_lists", {}).get("changed", [])

    resp = await service.request(
        "PUT", "/devices/BRIDGEDEV", user_id=GHOST, json={"display_name": "bridge"}
    )
    assert resp.status_code == 201
    assert GHOST in (await human.sync(since=since))["device_lists"]["changed"]

    await service.request(
        "POST", "/keys/upload", user_id=GHOST, device_id="BRIDGEDEV",
        json={"device_keys": _device_keys(GHOST, "BRIDGEDEV")},
    )  # fmt: skip
    query = await human.post("/keys/query", json={"device_keys": {GHOST: []}})
    device = query.json()["device_keys"][GHOST]["BRIDGEDEV"]
    assert device["unsigned"]["device_display_name"] == "bridge"


async def test_only_a_service_creates_devices(hs: Homeserver) -> None:
    """ "The ability to create new devices is only available to application services: regular
    clients may only update existing devices." A person's unknown device stays 404."""
    human = await hs.register_user("human")
    resp = await human.put("/devices/INVENTED", json={"display_name": "mine"})
    assert errcode(resp) == (404, "M_NOT_FOUND")
    assert [d["device_id"] for d in (await human.get("/devices")).json()["devices"]] == [
        human.device_id
    ]
    resp = await human.put(f"/devices/{human.device_id}", json={"display_name": "laptop"})
    assert (resp.status_code, resp.json()) == (200, {})


async def test_creation_refusals(hs: Homeserver) -> None:
    """A user outside the service's namespaces is refused as for any request (identity
    assertion: "must be covered by one of the application service's `user` namespaces"); a
    device ID login would refuse is refused here too."""
    service = ActingService(hs.http)
    await hs.create_user("outsider")
    resp = await service.request(
        "PUT", "/devices/FOREIGN", user_id="@outsider:test.bastion", json={}
    )
    assert errcode(resp) == (403, "M_FORBIDDEN")
    outsider = await hs.login("outsider")
    assert [d["device_id"] for d in (await outsider.get("/devices")).json()["devices"]] == [
        outsider.device_id
    ]
    await service.register("_bridge_alice", inhibit_login=True)
    for bad in ("has space", "é", "x" * 256):
        resp = await service.request("PUT", f"/devices/{bad}", user_id=GHOST, json={})
        assert errcode(resp) == (400, "M_INVALID_PARAM"), bad
    resp = await service.request(
        "PUT", "/devices/LONGNAME", user_id=GHOST, json={"display_name": "n" * 257}
    )
    assert errcode(resp) == (400, "M_INVALID_PARAM")
    assert await _device_ids(service, GHOST) == []


async def test_creation_is_rate_limited_for_a_rate_limited_service(
    tmp_path: Path, database_config: DatabaseConfig, config_overrides: dict[str, Any]
) -> None:
    """ "This endpoint is rate-limited for device creation. Servers MAY use login rate limits."
    `ops` is `rate_limited`; `bridge` is not (the registration's flag), nor renames."""
    limits = RateLimitsConfig(login_per_ip=RateLimit(per_second=0.001, burst=2))
    async with homeserver_with(
        tmp_path, database_config, **config_overrides, rate_limits=limits
    ) as hs:
        ops = ActingService(hs.http, OPS_TOKEN)
        assert (await ops.register("opsghost", inhibit_login=True)).status_code == 200
        ghost = "@opsghost:test.bastion"
        for device_id in ("ONE", "TWO"):
            resp = await ops.request("PUT", f"/devices/{device_id}", user_id=ghost, json={})
            assert resp.status_code == 201, resp.text
        resp = await ops.request("PUT", "/devices/THREE", user_id=ghost, json={})
        assert errcode(resp) == (429, "M_LIMIT_EXCEEDED")
        assert await _device_ids(ops, ghost) == ["ONE", "TWO"]
        resp = await ops.request("PUT", "/devices/ONE", user_id=ghost, json={"display_name": "x"})
        assert resp.status_code == 200  # renaming is not creating

        bridge = ActingService(hs.http)
        await bridge.register("_bridge_alice", inhibit_login=True)
        for device_id in ("ONE", "TWO", "THREE"):
            resp = await bridge.request("PUT", f"/devices/{device_id}", user_id=GHOST, json={})
            assert resp.status_code == 201, resp.text
