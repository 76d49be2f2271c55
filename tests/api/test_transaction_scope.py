"""Transaction IDs are scoped to one device and one endpoint.

spec (client-server-api, "Transaction identifiers"): "The homeserver should identify a request as
a retransmission if the transaction ID is the same as a previous request, and the path of the HTTP
request is the same." ... "The scope of a transaction ID is for a single device, and a single HTTP
endpoint." A send wrongly taken for a retransmission is acknowledged and never stored: data loss.
"""

from __future__ import annotations

from tests.api.rooms_helpers import bodies
from tests.conftest import Homeserver


async def test_same_txn_id_in_another_room_is_a_new_message(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    first_room = await alice.create_room()
    second_room = await alice.create_room()
    in_first = await alice.send_text(first_room, "to the first room", txn_id="shared")
    in_second = await alice.send_text(second_room, "to the second room", txn_id="shared")
    assert in_second != in_first
    event = (await alice.get(f"/rooms/{second_room}/event/{in_second}")).json()
    assert event["room_id"] == second_room
    assert event["content"]["body"] == "to the second room"
    chunk = (await alice.get(f"/rooms/{second_room}/messages", params={"dir": "b"})).json()
    assert "to the second room" in bodies(chunk["chunk"])
    # A real retransmission (same device, same path) still answers the original event.
    assert await alice.send_text(second_room, "to the second room", txn_id="shared") == in_second


async def test_same_txn_id_for_another_event_type_is_a_new_event(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    message = await alice.send_text(room_id, "hello", txn_id="t")
    resp = await alice.put(f"/rooms/{room_id}/send/m.reaction/t", json={"custom": 1})
    assert resp.status_code == 200
    assert resp.json()["event_id"] != message
    stored = (await alice.get(f"/rooms/{room_id}/event/{resp.json()['event_id']}")).json()
    assert stored["type"] == "m.reaction"


async def test_send_and_redact_endpoints_do_not_share_transactions(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    message = await alice.send_text(room_id, "regrettable", txn_id="x1")
    resp = await alice.put(f"/rooms/{room_id}/redact/{message}/x1", json={"reason": "oops"})
    assert resp.status_code == 200
    redaction_id = resp.json()["event_id"]
    assert redaction_id != message
    redaction = (await alice.get(f"/rooms/{room_id}/event/{redaction_id}")).json()
    assert redaction["type"] == "m.room.redaction"
    # Retransmitting the redaction answers the same redaction.
    again = await alice.put(f"/rooms/{room_id}/redact/{message}/x1", json={"reason": "oops"})
    assert again.json()["event_id"] == redaction_id
    # The same txn ID redacting another event is another redaction.
    other = await alice.send_text(room_id, "also regrettable", txn_id="x2")
    resp = await alice.put(f"/rooms/{room_id}/redact/{other}/x1", json={})
    assert resp.status_code == 200
    assert resp.json()["event_id"] not in (redaction_id, message)
    assert (await alice.get(f"/rooms/{room_id}/event/{other}")).json()["content"] == {}


async def test_to_device_txn_is_scoped_to_the_event_type(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    token = (await bob.sync())["next_batch"]
    for event_type in ("m.room_key_request", "m.secret.request"):
        body = {"messages": {bob.user_id: {bob.device_id: {"sent_as": event_type}}}}
        assert (await alice.put(f"/sendToDevice/{event_type}/same", json=body)).status_code == 200
    # The retransmission of the first delivers nothing new.
    body = {"messages": {bob.user_id: {bob.device_id: {"sent_as": "m.room_key_request"}}}}
    assert (await alice.put("/sendToDevice/m.room_key_request/same", json=body)).status_code == 200
    events = (await bob.sync(since=token))["to_device"]["events"]
    assert sorted(e["type"] for e in events) == ["m.room_key_request", "m.secret.request"]
