"""The extensions through the sliding-sync endpoint, as Element X uses them: an `encryption`
connection with only `to_device` and `e2ee`, a `room-list` connection with `account_data`,
`receipts` and `typing` beside its list."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.sliding_sync.sliding_client import SlidingClient, all_rooms
from tests.api.test_keys import device_keys
from tests.conftest import Homeserver, UserClient

ENCRYPTION: dict[str, Any] = {
    "extensions": {"to_device": {"enabled": True}, "e2ee": {"enabled": True}},
}
ROOM_LIST_EXTENSIONS: dict[str, Any] = {
    "account_data": {"enabled": True},
    "receipts": {"enabled": True},
    "typing": {"enabled": True},
}


def encryption_request(since: str | None = None) -> dict[str, Any]:
    to_device: dict[str, Any] = {"enabled": True} | ({"since": since} if since else {})
    return {"extensions": {"to_device": to_device, "e2ee": {"enabled": True}}}


def room_list_request() -> dict[str, Any]:
    return {"lists": {"all": all_rooms()}, "extensions": ROOM_LIST_EXTENSIONS}


async def send_to_device(sender: UserClient, recipient: UserClient, txn_id: str) -> None:
    body = {"messages": {recipient.user_id: {recipient.device_id: {"txn": txn_id}}}}
    resp = await sender.put(f"/sendToDevice/m.test/{txn_id}", json=body)
    assert resp.status_code == 200, resp.text


async def test_to_device_is_delivered_then_acknowledged_by_since(hs: Homeserver) -> None:
    """MSC3885: "The `events` are treated as "acknowledged" when the server receives a new
    request with the `since` value set to the previous response's `next_batch` value", and
    "If a response is lost, the client will retry the request with the same `since` value"
    (and gets the messages again)."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    encryption = SlidingClient(bob, conn_id="encryption")
    first = await encryption.sync(encryption_request())
    token = first["extensions"]["to_device"]["next_batch"]
    await send_to_device(alice, bob, "m1")

    lost_pos = encryption.pos
    delivered = await encryption.sync(encryption_request(token))
    to_device = delivered["extensions"]["to_device"]
    assert [e["content"] for e in to_device["events"]] == [{"txn": "m1"}]
    # The response was lost: the client repeats its request (same `pos`, same `since`).
    retried = await encryption.request(encryption_request(token), pos=lost_pos)
    assert retried.status_code == 200
    events = retried.json()["extensions"]["to_device"]["events"]
    assert [e["content"] for e in events] == [{"txn": "m1"}]

    acknowledged = await encryption.sync(encryption_request(to_device["next_batch"]))
    assert acknowledged["extensions"]["to_device"].get("events", []) == []
    # Deleted for good: even another connection of the device with the old `since` gets none.
    other = SlidingClient(bob, conn_id="notifications")
    assert (await other.sync(encryption_request(token)))["extensions"]["to_device"].get(
        "events", []
    ) == []


async def test_another_users_key_upload_wakes_the_encryption_connection(hs: Homeserver) -> None:
    """MSC3884: `device_lists` has "the same semantics as the current `/sync`
    implementation": a user sharing a room who uploads keys is `changed`; the key counts are
    always there."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    encryption = SlidingClient(alice, conn_id="encryption")
    initial = await encryption.sync(ENCRYPTION)
    assert initial["extensions"]["e2ee"]["device_one_time_keys_count"] == {"signed_curve25519": 0}

    waiting = asyncio.create_task(encryption.sync(ENCRYPTION, timeout_ms=30000))
    await hs.wait_for_waiting_syncs(1)
    assert (
        await bob.post("/keys/upload", json={"device_keys": device_keys(bob)})
    ).status_code == 200
    woken = await asyncio.wait_for(waiting, timeout=10)
    assert woken["extensions"]["e2ee"]["device_lists"]["changed"] == [bob.user_id]

    # The counts follow the device's uploads (read with the streams' news, one statement).
    keys = {"signed_curve25519:AAAA": {"key": "k1", "signatures": {}}}
    assert (await alice.post("/keys/upload", json={"one_time_keys": keys})).status_code == 200
    after = await encryption.sync(ENCRYPTION)
    assert after["extensions"]["e2ee"]["device_one_time_keys_count"] == {"signed_curve25519": 1}
    assert after["extensions"]["e2ee"]["device_lists"] == {"changed": [], "left": []}


async def test_typing_and_receipts_cross_between_two_users(hs: Homeserver) -> None:
    """MSC3961: "When live streaming, typing notifications MUST be sent as the server receives
    typing updates." MSC3960: the `m.receipt` event is "the same event that would appear in
    the array `rooms.join["!foo:bar"].ephemeral.events` under `/sync`"."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    alice_list = SlidingClient(alice)
    bob_list = SlidingClient(bob)
    await alice_list.sync(room_list_request())
    await bob_list.sync(room_list_request())

    waiting = asyncio.create_task(alice_list.sync(room_list_request(), timeout_ms=30000))
    await hs.wait_for_waiting_syncs(1)
    typing = {"typing": True, "timeout": 30000}
    assert (await bob.put(f"/rooms/{room_id}/typing/{bob.user_id}", json=typing)).status_code == 200
    woken = await asyncio.wait_for(waiting, timeout=10)
    assert woken["extensions"]["typing"]["rooms"][room_id] == {
        "type": "m.typing",
        "content": {"user_ids": [bob.user_id]},
    }

    event_id = await bob.send_text(room_id, "hello")
    resp = await alice.post(f"/rooms/{room_id}/receipt/m.read/{event_id}", json={})
    assert resp.status_code == 200
    seen = await bob_list.sync(room_list_request())
    receipt = seen["extensions"]["receipts"]["rooms"][room_id]
    assert receipt["type"] == "m.receipt"
    assert list(receipt["content"][event_id]["m.read"]) == [alice.user_id]


async def test_malformed_extension_requests_are_matrix_errors(hs: Homeserver) -> None:
    """MSC4186: the `extensions` map holds each extension's config; a config of the wrong
    shape is the client's error (400 with a Matrix errcode), never a server error."""
    alice = await hs.register_user("alice")
    bad: list[tuple[dict[str, Any], str]] = [
        ({"to_device": {"enabled": True, "limit": 10**30}}, "M_BAD_JSON"),
        ({"account_data": {"enabled": True, "lists": "all"}}, "M_BAD_JSON"),
        ({"receipts": {"enabled": True, "rooms": [1]}}, "M_BAD_JSON"),
        ({"typing": {"enabled": True, "lists": [None]}}, "M_BAD_JSON"),
    ]
    for extensions, expected in bad:
        resp = await SlidingClient(alice).request({"extensions": extensions})
        assert (resp.status_code, resp.json().get("errcode")) == (400, expected), extensions
