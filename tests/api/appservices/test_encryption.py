"""End-to-bridge encryption in application-service transactions, as Synapse sends it: MSC2409's
to-device messages (`de.sorunome.msc2409.to_device`, for a service with `receive_ephemeral` or
`de.sorunome.msc2409.push_ephemeral`) and MSC3202's device lists, one-time key counts and
unused fallback key types (for a service with `org.matrix.msc3202: true`). The `bridge`
registration asks for both unless `opted_in` says otherwise; its ghost's device is made with
`PUT /devices` and its keys uploaded by masquerading, as a mautrix bridge in appservice
encryption mode does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bastion.services.appservices.client import Refused
from tests.api.appservice_fixtures import ActingService, appservice_config
from tests.api.appservice_server import FakeAppService
from tests.api.appservices.test_delivery import GHOST, bridge, bridged_room, drain
from tests.conftest import Homeserver, UserClient

DEVICE = "BRIDGEDEV"
TO_DEVICE = "de.sorunome.msc2409.to_device"
DEVICE_LISTS = "org.matrix.msc3202.device_lists"
OTK_COUNTS = "org.matrix.msc3202.device_one_time_keys_count"
FALLBACK = "org.matrix.msc3202.device_unused_fallback_key_types"


@pytest.fixture
def opted_in() -> bool:
    return True


@pytest.fixture
def config_overrides(tmp_path: Path, appservice: FakeAppService, opted_in: bool) -> dict[str, Any]:
    overrides = appservice_config(tmp_path, appservice.url)
    path = tmp_path / "bridge.yaml"
    body = yaml.safe_load(path.read_text(encoding="utf-8"))
    if opted_in:
        body["org.matrix.msc3202"] = True
    else:
        del body["de.sorunome.msc2409.push_ephemeral"]
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return overrides


async def ghost_device(hs: Homeserver) -> ActingService:
    """The ghost's device, made by the service (after bridged_room registered the ghost)."""
    service = ActingService(hs.http)
    resp = await service.request("PUT", f"/devices/{DEVICE}", user_id=GHOST, json={})
    assert resp.status_code == 201, resp.text
    return service


async def send_to_device(sender: UserClient, txn: str, messages: dict[str, Any]) -> None:
    resp = await sender.put(f"/sendToDevice/m.bridge.test/{txn}", json={"messages": messages})
    assert resp.status_code == 200, resp.text


def field_of(appservice: FakeAppService, name: str) -> list[Any]:
    """The field `name` of every transaction that had it, in order."""
    return [t.body[name] for t in appservice.transactions() if name in t.body]


def to_device_of(appservice: FakeAppService) -> list[dict[str, Any]]:
    return [m for batch in field_of(appservice, TO_DEVICE) for m in batch]


async def upload_keys(service: ActingService, otks: int, *, fallback: bool) -> None:
    body: dict[str, Any] = {
        "one_time_keys": {
            f"signed_curve25519:K{n}": {"key": f"otk{n}", "signatures": {}} for n in range(otks)
        }
    }
    if fallback:
        body["fallback_keys"] = {
            "signed_curve25519:F1": {"key": "fb", "fallback": True, "signatures": {}}
        }
    resp = await service.request("POST", "/keys/upload", user_id=GHOST, device_id=DEVICE, json=body)
    assert resp.status_code == 200, resp.text


async def test_a_to_device_message_for_a_ghost_device_reaches_the_service(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    """MSC2409: to-device messages for the service's users are in the transaction, each with
    `to_user_id` and `to_device_id` "so that the application service will know which
    user/device combination this message was intended for" (Synapse's shape: the message's
    `type`, `sender` and `content` with those two). Others' messages are not; once the service
    took them, the device's inbox no longer holds them."""
    human, _ = await bridged_room(hs)
    service = await ghost_device(hs)
    other = await hs.register_user("other")
    await drain(hs)
    await send_to_device(
        human,
        "t1",
        {GHOST: {DEVICE: {"secret": 1}}, other.user_id: {other.device_id: {"secret": 2}}},
    )
    await drain(hs)
    assert to_device_of(appservice) == [
        {
            "type": "m.bridge.test",
            "sender": human.user_id,
            "content": {"secret": 1},
            "to_user_id": GHOST,
            "to_device_id": DEVICE,
        }
    ]
    synced = await service.request("GET", "/sync", user_id=GHOST, device_id=DEVICE)
    assert synced.status_code == 200, synced.text
    assert synced.json().get("to_device", {}).get("events", []) == []
    other_sync = await other.sync()  # not the service's: still in its own inbox
    assert [e["content"] for e in other_sync["to_device"]["events"]] == [{"secret": 2}]


async def test_a_retried_transaction_carries_the_same_to_device_messages(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    """The spec forbids changing a transaction on retry; the to-device messages it carried are
    stored with it, so the retry (and a restart) sends them again, and they are not lost."""
    human, _ = await bridged_room(hs)
    await ghost_device(hs)
    await drain(hs)
    before = len(appservice.transactions())
    delivery, registration = bridge(hs)
    appservice.answer(500, {"errcode": "M_UNKNOWN"})
    await send_to_device(human, "t1", {GHOST: {DEVICE: {"n": 1}}})
    with pytest.raises(Refused):
        await delivery.step(registration)
    await send_to_device(human, "t2", {GHOST: {DEVICE: {"n": 2}}})  # while the first is pending
    assert await delivery.step(registration)
    await drain(hs)
    sent = appservice.transactions()[before:]
    assert sent[0].path == sent[1].path
    assert sent[0].body[TO_DEVICE] == sent[1].body[TO_DEVICE]
    assert [m["content"]["n"] for t in sent for m in t.body.get(TO_DEVICE, [])] == [1, 1, 2]


@pytest.mark.parametrize("opted_in", [False])
async def test_a_service_that_did_not_opt_in_gets_none_of_it(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    """Without `receive_ephemeral` (or MSC2409's key) and `org.matrix.msc3202`, no to-device
    messages, device lists or key counts: the ghost's message stays in its device's inbox."""
    human, room_id = await bridged_room(hs)
    service = await ghost_device(hs)
    await upload_keys(service, 2, fallback=True)
    await send_to_device(human, "t1", {GHOST: {DEVICE: {"secret": 1}}})
    await human.send_text(room_id, "hello")
    await drain(hs)
    sent = appservice.transactions()
    assert sent
    for transaction in sent:
        assert not {TO_DEVICE, DEVICE_LISTS, OTK_COUNTS, FALLBACK} & set(transaction.body)
    synced = await service.request("GET", "/sync", user_id=GHOST, device_id=DEVICE)
    assert [e["content"] for e in synced.json()["to_device"]["events"]] == [{"secret": 1}]


async def test_device_list_changes_and_departures(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    """MSC3202: `device_lists.changed` lists the users whose devices changed and whom the
    service is interested in (Synapse: they share a room with one of its users); `left` those
    who no longer share any room with them. A stranger's change is not reported."""
    human, room_id = await bridged_room(hs)
    stranger = await hs.register_user("stranger")
    await drain(hs)
    for user in (human, stranger):
        keys = {
            "user_id": user.user_id, "device_id": user.device_id,
            "algorithms": ["m.olm.v1.curve25519-aes-sha2"],
            "keys": {f"curve25519:{user.device_id}": "k"},
        }  # fmt: skip
        resp = await user.post("/keys/upload", json={"device_keys": keys})
        assert resp.status_code == 200, resp.text
    await drain(hs)
    lists = field_of(appservice, DEVICE_LISTS)
    changed = {u for d in lists for u in d["changed"]}
    assert human.user_id in changed
    assert stranger.user_id not in changed
    assert not any(d["left"] for d in lists)

    resp = await human.post(f"/rooms/{room_id}/leave", json={})
    assert resp.status_code == 200, resp.text
    await drain(hs)
    last = field_of(appservice, DEVICE_LISTS)[len(lists) :]
    assert [d["left"] for d in last] == [[human.user_id]]
    assert human.user_id not in last[0]["changed"]


async def test_one_time_key_counts_and_fallback_key_types(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    """MSC3202: `device_one_time_keys_count` (user -> device -> algorithm -> count) and
    `device_unused_fallback_key_types` (user -> device -> algorithms) for the devices of the
    users in the transaction (Synapse: the recipients of its to-device messages, its users in
    the rooms of its events, its sender); a claim lowers the count, and a used fallback key is
    no longer listed."""
    human, room_id = await bridged_room(hs)
    service = await ghost_device(hs)
    await upload_keys(service, 2, fallback=True)
    await human.send_text(room_id, "hello")
    await drain(hs)
    counts = field_of(appservice, OTK_COUNTS)[-1]
    assert counts[GHOST] == {DEVICE: {"signed_curve25519": 2}}
    assert field_of(appservice, FALLBACK)[-1][GHOST] == {DEVICE: ["signed_curve25519"]}
    assert human.user_id not in counts  # not one of the service's users

    for _ in range(3):  # two one-time keys, then the fallback key
        resp = await human.post(
            "/keys/claim", json={"one_time_keys": {GHOST: {DEVICE: "signed_curve25519"}}}
        )
        assert resp.status_code == 200, resp.text
    await send_to_device(human, "t1", {GHOST: {DEVICE: {"olm": "..."}}})
    await drain(hs)
    assert field_of(appservice, OTK_COUNTS)[-1][GHOST] == {DEVICE: {}}
    assert field_of(appservice, FALLBACK)[-1][GHOST] == {DEVICE: []}
    last = appservice.transactions()[-1].body
    assert last["org.matrix.msc3202.device_one_time_key_counts"] == last[OTK_COUNTS]
