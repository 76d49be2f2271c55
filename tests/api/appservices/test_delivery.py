"""Transactions to an application service (spec: application-service-api, "Pushing events"),
and the ping (v1.7), against a real HTTP endpoint on loopback (appservice_server.py). The
transaction steps are driven one at a time (`AppServiceDelivery.step`), so every assertion is
about one transaction; one test runs the background loops as `bastion serve` does."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote, unquote

import pytest

from bastion.services.appservices.client import Refused
from bastion.services.appservices.delivery import AppServiceDelivery
from bastion.services.appservices.registration import AppServiceRegistration
from tests.api.appservice_fixtures import (
    AS_TOKEN,
    HS_TOKEN,
    OPS_TOKEN,
    ActingService,
)
from tests.api.appservice_server import FakeAppService, Received
from tests.clients.test_mautrix_bot import until
from tests.conftest import Homeserver, UserClient, errcode

GHOST = "@_bridge_alice:test.bastion"


def bridge(hs: Homeserver) -> tuple[AppServiceDelivery, AppServiceRegistration]:
    services = hs.runtime.services.appservices
    registration = services.registry.by_id("bridge")
    assert registration is not None
    return services.delivery, registration


async def drain(hs: Homeserver) -> None:
    """Step the bridge's transactions until nothing is left (bounded)."""
    delivery, registration = bridge(hs)
    for _ in range(50):
        if not await delivery.step(registration):
            return
    raise AssertionError("transactions never ran out")


async def bridged_room(hs: Homeserver) -> tuple[UserClient, str]:
    """A human's room the ghost has joined (the service's interest). The service's stream
    starts first (as when `bastion serve` starts with it registered): it receives what
    follows."""
    await drain(hs)
    human = await hs.register_user("human")
    service = ActingService(hs.http)
    assert (await service.register("_bridge_alice", inhibit_login=True)).status_code == 200
    room_id = await human.create_room()
    assert (
        await human.post(f"/rooms/{room_id}/invite", json={"user_id": GHOST})
    ).status_code == 200
    resp = await service.request("POST", f"/join/{room_id}", user_id=GHOST, json={})
    assert resp.status_code == 200, resp.text
    return human, room_id


def bodies(service: FakeAppService) -> list[str]:
    return [
        e["content"].get("body", "")
        for t in service.transactions()
        for e in t.body["events"]
        if e["type"] == "m.room.message"
    ]


async def test_events_of_interest_reach_the_service_in_order(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    human, room_id = await bridged_room(hs)
    other = await human.create_room()  # no user of the service in it
    await human.send_text(other, "not for the bridge")
    await human.send_text(room_id, "hello bridge")
    await drain(hs)
    sent = appservice.transactions()
    assert sent, "no transaction"
    assert [t.path for t in sent] == [
        f"/_matrix/app/v1/transactions/{n}" for n in range(1, len(sent) + 1)
    ]
    assert all(t.method == "PUT" and t.authorization == f"Bearer {HS_TOKEN}" for t in sent)
    events = [e for t in sent for e in t.body["events"]]
    assert all(e["room_id"] == room_id for e in events)
    memberships = [
        (e["state_key"], e["content"]["membership"]) for e in events if e["type"] == "m.room.member"
    ]
    assert (GHOST, "invite") in memberships
    assert (GHOST, "join") in memberships
    assert bodies(appservice) == ["hello bridge"]
    positions = [e["origin_server_ts"] for e in events]
    assert positions == sorted(positions)
    assert "event_id" in events[-1]
    assert events[-1]["sender"] == human.user_id


async def test_a_failed_transaction_is_retried_with_the_same_id_and_events(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    human, room_id = await bridged_room(hs)
    await drain(hs)
    before = len(appservice.transactions())
    delivery, registration = bridge(hs)
    appservice.answer(500, {"errcode": "M_UNKNOWN"})
    await human.send_text(room_id, "first")
    with pytest.raises(Refused) as refused:
        await delivery.step(registration)
    assert refused.value.status == 500
    status = await delivery.status(registration)
    assert status is not None
    assert status.last_error
    assert status.failing_since_ms
    await human.send_text(room_id, "second")  # arrives while the first is pending
    assert await delivery.step(registration)
    await drain(hs)
    sent = appservice.transactions()[before:]
    assert [t.path.rsplit("/", 1)[1] for t in sent] == [
        str(before + 1), str(before + 1), str(before + 2)
    ]  # fmt: skip
    assert sent[0].body == sent[1].body  # the retry changed nothing
    assert bodies(appservice)[-3:] == ["first", "first", "second"]
    status = await delivery.status(registration)
    assert status is not None
    assert status.last_error is None
    assert status.pending_upto is None


async def test_the_background_loop_is_woken_by_new_events(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    human, room_id = await bridged_room(hs)
    delivery, _ = bridge(hs)
    delivery.dispatch()
    try:
        await human.send_text(room_id, "live")
        await until(lambda: "live" in bodies(appservice), "the live transaction")
    finally:
        await delivery.stop()


async def test_ping(hs: Homeserver, appservice: FakeAppService) -> None:
    service = ActingService(hs.http)
    resp = await service.request(
        "POST", "/_matrix/client/v1/appservice/bridge/ping", json={"transaction_id": "meow"}
    )
    assert resp.status_code == 200, resp.text
    assert isinstance(resp.json()["duration_ms"], int)
    ping = appservice.requests[-1]
    assert (ping.method, ping.path, ping.body) == (
        "POST", "/_matrix/app/v1/ping", {"transaction_id": "meow"}
    )  # fmt: skip
    assert ping.authorization == f"Bearer {HS_TOKEN}"
    appservice.answer(403, {"errcode": "M_FORBIDDEN"})
    resp = await service.request("POST", "/_matrix/client/v1/appservice/bridge/ping", json={})
    assert errcode(resp) == (502, "M_BAD_STATUS")
    assert resp.json()["status"] == 403
    assert "M_FORBIDDEN" in resp.json()["body"]


async def test_ping_refusals(hs: Homeserver, appservice: FakeAppService) -> None:
    ops = ActingService(hs.http, OPS_TOKEN)
    path = "/_matrix/client/v1/appservice/{}/ping"
    assert errcode(await ops.request("POST", path.format("bridge"), json={})) == (
        403,
        "M_FORBIDDEN",
    )  # another service
    assert errcode(await ops.request("POST", path.format("ops"), json={})) == (
        400,
        "M_URL_NOT_SET",
    )
    human = await hs.register_user("human")
    assert errcode(await human.post(path.format("bridge"), json={})) == (403, "M_FORBIDDEN")
    bridge_service = ActingService(hs.http, AS_TOKEN)
    resp = await bridge_service.request("POST", path.format("bridge"), json={"transaction_id": 5})
    assert errcode(resp) == (400, "M_BAD_JSON")
    appservice.stop()  # nothing listens any more
    assert errcode(await bridge_service.request("POST", path.format("bridge"), json={})) == (
        502,
        "M_CONNECTION_FAILED",
    )


async def test_admins_see_the_services_and_their_progress_never_their_tokens(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    human, room_id = await bridged_room(hs)
    await drain(hs)
    appservice.answer(503, {"errcode": "M_UNKNOWN"})
    await human.send_text(room_id, "stuck")
    delivery, registration = bridge(hs)
    with pytest.raises(Refused):
        await delivery.step(registration)
    admin = await hs.register_user("boss", admin=True)
    resp = await admin.get("/_bastion/admin/v1/appservices")
    assert resp.status_code == 200, resp.text
    assert AS_TOKEN not in resp.text
    assert HS_TOKEN not in resp.text
    listed = {s["id"]: s for s in resp.json()["appservices"]}
    assert set(listed) == {"bridge", "ops"}
    bridge_row = listed["bridge"]
    assert bridge_row["sender"] == "@bridgebot:test.bastion"
    assert {"regex": "@whatsapp_.*", "exclusive": True} in bridge_row["namespaces"]["users"]
    assert bridge_row["pending_events"] == 1
    assert "503" in bridge_row["last_error"]
    assert bridge_row["failing_since_ts"] is not None
    assert listed["ops"]["url"] is None
    assert listed["ops"]["delivered_upto"] is None  # no URL: no transactions
    assert errcode(await human.get("/_bastion/admin/v1/appservices")) == (403, "M_FORBIDDEN")


def creating_on_query(hs: Homeserver, appservice: FakeAppService) -> None:
    """The fake service creates what a query asks for, as a bridge does: the ghost, or a
    public portal room with the alias (through the client API, while the query waits)."""
    loop = asyncio.get_running_loop()
    service = ActingService(hs.http)

    async def create(path: str) -> None:
        name = unquote(path.rsplit("/", 1)[1])
        if "/users/" in path:
            localpart = name[1:].split(":")[0]
            await service.register(localpart, inhibit_login=True)
        else:
            await service.register("_bridge_portalbot", inhibit_login=True)
            body = {"room_alias_name": name[1:].split(":")[0], "preset": "public_chat"}
            resp = await service.request(
                "POST", "/createRoom", user_id="@_bridge_portalbot:test.bastion", json=body
            )
            assert resp.status_code == 200, resp.text

    def on_request(received: Received) -> None:
        if received.method == "GET" and "decline" not in received.path:
            asyncio.run_coroutine_threadsafe(create(received.path), loop).result(timeout=10)

    appservice.on_request = on_request


async def test_inviting_a_ghost_that_does_not_exist_asks_the_service(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    creating_on_query(hs, appservice)
    human = await hs.register_user("human")
    room_id = await human.create_room()
    new_ghost = "@_bridge_4915112345:test.bastion"
    resp = await human.post(f"/rooms/{room_id}/invite", json={"user_id": new_ghost})
    assert resp.status_code == 200, resp.text
    query = appservice.requests[-1]
    assert (query.method, query.path) == ("GET", f"/_matrix/app/v1/users/{quote(new_ghost)}")
    assert query.authorization == f"Bearer {HS_TOKEN}"
    dm = await human.post("/createRoom", json={"invite": ["@_bridge_4915199:test.bastion"]})
    assert dm.status_code == 200, dm.text  # a direct chat with a ghost, created when asked
    appservice.answer(404, {"errcode": "M_NOT_FOUND"})
    declined = "@_bridge_decline:test.bastion"
    resp = await human.post(f"/rooms/{room_id}/invite", json={"user_id": declined})
    assert errcode(resp) == (404, "M_NOT_FOUND")
    asked = len(appservice.requests)
    resp = await human.post(f"/rooms/{room_id}/invite", json={"user_id": "@nobody:test.bastion"})
    assert errcode(resp) == (404, "M_NOT_FOUND")
    assert len(appservice.requests) == asked  # no service owns it: nobody asked


async def test_joining_an_alias_that_does_not_exist_asks_the_service(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    creating_on_query(hs, appservice)
    human = await hs.register_user("human")
    resp = await human.post("/join/%23_bridge_portal:test.bastion", json={})
    assert resp.status_code == 200, resp.text
    assert appservice.requests[-1].path == "/_matrix/app/v1/rooms/" + quote(
        "#_bridge_portal:test.bastion"
    )
    resp = await human.get("/directory/room/%23_bridge_decline:test.bastion")
    assert errcode(resp) == (404, "M_NOT_FOUND")
    appservice.stop()  # unreachable: the alias stays unknown
    resp = await human.get("/directory/room/%23_bridge_gone:test.bastion")
    assert errcode(resp) == (404, "M_NOT_FOUND")


def ephemeral_of(appservice: FakeAppService, kind: str) -> list[dict[str, Any]]:
    return [
        e
        for t in appservice.transactions()
        for e in t.body.get("ephemeral", [])
        if e["type"] == kind
    ]


async def test_receipts_and_typing_reach_a_service_that_asked_for_them(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    """Spec v1.13 (application-service-api#pushing-ephemeral-data): the registration has
    MSC2409's `push_ephemeral`; receipts and typing under the rules of events, private read
    receipts only of the service's own users."""
    human, room_id = await bridged_room(hs)
    other = await human.create_room()  # no user of the service: nothing from here
    service = ActingService(hs.http)
    resp = await service.request(
        "PUT", f"/rooms/{room_id}/send/m.room.message/g1", user_id=GHOST,
        json={"msgtype": "m.text", "body": "seen?"},
    )  # fmt: skip
    ghost_event = resp.json()["event_id"]
    await drain(hs)
    assert (
        await human.post(f"/rooms/{room_id}/receipt/m.read/{ghost_event}", json={})
    ).status_code == 200
    assert (
        await human.post(f"/rooms/{room_id}/receipt/m.read.private/{ghost_event}", json={})
    ).status_code == 200
    resp = await service.request(
        "POST", f"/rooms/{room_id}/receipt/m.read.private/{ghost_event}", user_id=GHOST, json={}
    )
    assert resp.status_code == 200, resp.text
    mine = await human.send_text(other, "elsewhere")
    assert (await human.post(f"/rooms/{other}/receipt/m.read/{mine}", json={})).status_code == 200
    typing = {"typing": True, "timeout": 30000}
    assert (
        await human.put(f"/rooms/{room_id}/typing/{human.user_id}", json=typing)
    ).status_code == 200
    assert (
        await human.put(f"/rooms/{other}/typing/{human.user_id}", json=typing)
    ).status_code == 200
    await drain(hs)
    receipts = ephemeral_of(appservice, "m.receipt")
    assert {r["room_id"] for r in receipts} == {room_id}
    seen = {
        (user, kind)
        for r in receipts
        for kind, users in r["content"][ghost_event].items()
        for user in users
    }
    assert seen == {(human.user_id, "m.read"), (GHOST, "m.read.private")}
    typed = ephemeral_of(appservice, "m.typing")
    assert typed[-1] == {
        "type": "m.typing",
        "room_id": room_id,
        "content": {"user_ids": [human.user_id]},
    }
    assert {t["room_id"] for t in typed} == {room_id}


async def test_windows_of_no_interest_are_passed_without_a_write_each(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    """Busy rooms the service is not in cost no write per event: the position passed is kept
    in memory and stored at most every 5 s; a later transaction starts after it."""
    human, room_id = await bridged_room(hs)
    await drain(hs)
    delivery, registration = bridge(hs)
    other = await human.create_room()
    sent_before = len(appservice.transactions())
    hs.clock.advance(10)
    await human.send_text(other, "noise 1")
    await drain(hs)
    first = await delivery.status(registration)
    assert first is not None
    assert first.done_upto == hs.runtime.positions.persisted_upto()  # stored: 5 s had passed
    await human.send_text(other, "noise 2")
    await drain(hs)
    second = await delivery.status(registration)
    assert second is not None
    assert second.done_upto == first.done_upto  # passed in memory only
    await human.send_text(room_id, "for the bridge")
    await drain(hs)
    assert len(appservice.transactions()) == sent_before + 1
    assert bodies(appservice)[-1:] == ["for the bridge"]  # not the noise
    last = await delivery.status(registration)
    assert last is not None
    assert last.done_upto == hs.runtime.positions.persisted_upto()
