"""To-device messages and server-side key backup."""

from __future__ import annotations

import asyncio

from tests.conftest import Homeserver, errcode


async def test_to_device_delivery_acknowledgement_and_idempotency(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    bob_laptop = await hs.login("bob")
    token = (await bob.sync())["next_batch"]
    laptop_token = (await bob_laptop.sync())["next_batch"]
    body = {"messages": {bob.user_id: {bob.device_id: {"secret": 1}, "NOSUCHDEVICE": {"x": 1}}}}
    assert (await alice.put("/sendToDevice/m.room_key/t1", json=body)).status_code == 200
    assert (
        await alice.put("/sendToDevice/m.room_key/t1", json=body)
    ).status_code == 200  # same txn
    first = await bob.sync(since=token)
    assert first["to_device"]["events"] == [
        {"sender": alice.user_id, "type": "m.room_key", "content": {"secret": 1}}
    ]
    # Not acknowledged yet: the same token gets it again ...
    assert len((await bob.sync(since=token))["to_device"]["events"]) == 1
    # ... and once the device syncs past it, it is gone.
    assert (await bob.sync(since=first["next_batch"]))["to_device"]["events"] == []
    assert (await bob_laptop.sync(since=laptop_token))["to_device"]["events"] == []
    everywhere = {"messages": {bob.user_id: {"*": {"hello": "all"}}}}
    await alice.put("/sendToDevice/m.test/t2", json=everywhere)
    assert len((await bob_laptop.sync(since=laptop_token))["to_device"]["events"]) == 1
    resp = await alice.put("/sendToDevice/m.test/t3", json={"messages": {bob.user_id: []}})
    assert errcode(resp) == (400, "M_BAD_JSON")


async def test_to_device_wakes_a_waiting_sync(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    token = (await bob.sync())["next_batch"]
    waiting = asyncio.create_task(bob.sync(since=token, timeout=30000))
    await hs.wait_for_waiting_syncs(1)
    await alice.put("/sendToDevice/m.test/w1", json={"messages": {bob.user_id: {"*": {"a": 1}}}})
    result = await asyncio.wait_for(waiting, timeout=10)
    assert result["to_device"]["events"][0]["content"] == {"a": 1}


async def test_more_to_device_messages_than_one_sync_carries(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    token = (await bob.sync())["next_batch"]
    for i in range(130):
        await alice.put(
            f"/sendToDevice/m.test/n{i}",
            json={"messages": {bob.user_id: {bob.device_id: {"n": i}}}},
        )
    seen: list[int] = []
    for _ in range(5):
        sync = await bob.sync(since=token)
        seen += [e["content"]["n"] for e in sync["to_device"]["events"]]
        token = sync["next_batch"]
    assert seen == list(range(130))  # in order, none lost, none twice


async def test_key_backup(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    assert errcode(await alice.get("/room_keys/version")) == (404, "M_NOT_FOUND")
    algorithm = "m.megolm_backup.v1.curve25519-aes-sha2"
    created = await alice.post(
        "/room_keys/version", json={"algorithm": algorithm, "auth_data": {"public_key": "pk"}}
    )
    version = created.json()["version"]
    info = (await alice.get("/room_keys/version")).json()
    assert info == {
        "algorithm": algorithm,
        "auth_data": {"public_key": "pk"},
        "count": 0,
        "etag": "0",
        "version": version,
    }
    assert errcode(await bob.get(f"/room_keys/version/{version}")) == (404, "M_NOT_FOUND")

    session = {
        "first_message_index": 5,
        "forwarded_count": 0,
        "is_verified": False,
        "session_data": {"ct": "x"},
    }
    resp = await alice.put("/room_keys/keys/!room/sess1", json=session, params={"version": version})
    assert resp.json() == {"etag": "1", "count": 1}
    worse = {**session, "first_message_index": 9, "session_data": {"ct": "worse"}}
    await alice.put("/room_keys/keys/!room/sess1", json=worse, params={"version": version})
    got = (await alice.get("/room_keys/keys/!room/sess1", params={"version": version})).json()
    assert got["session_data"] == {"ct": "x"}  # a worse key does not replace a better one
    better = {**session, "is_verified": True, "session_data": {"ct": "verified"}}
    await alice.put(
        "/room_keys/keys",
        json={"rooms": {"!room": {"sessions": {"sess1": better}}}},
        params={"version": version},
    )
    everything = (await alice.get("/room_keys/keys", params={"version": version})).json()
    assert everything["rooms"]["!room"]["sessions"]["sess1"]["session_data"] == {"ct": "verified"}

    newer = (
        await alice.post("/room_keys/version", json={"algorithm": algorithm, "auth_data": {}})
    ).json()["version"]
    resp = await alice.put("/room_keys/keys/!room/sess2", json=session, params={"version": version})
    assert errcode(resp) == (403, "M_WRONG_ROOM_KEYS_VERSION")
    assert resp.json()["current_version"] == newer
    assert errcode(await alice.get("/room_keys/keys", params={"version": "999"})) == (
        404,
        "M_NOT_FOUND",
    )
    assert errcode(await alice.get("/room_keys/keys")) == (400, "M_MISSING_PARAM")
    assert errcode(await alice.get("/room_keys/keys/!room/nope", params={"version": version})) == (
        404,
        "M_NOT_FOUND",
    )
    resp = await alice.put(
        f"/room_keys/version/{version}", json={"algorithm": "other", "auth_data": {}}
    )
    assert errcode(resp) == (400, "M_INVALID_PARAM")
    deleted = await alice.delete("/room_keys/keys/!room", json=None)
    assert errcode(deleted) == (400, "M_MISSING_PARAM")
    assert (await alice.delete(f"/room_keys/version/{version}")).status_code == 200
    assert errcode(await alice.get(f"/room_keys/version/{version}")) == (404, "M_NOT_FOUND")


async def test_stream_position_survives_deleting_delivered_messages(hs: Homeserver) -> None:
    """After a restart the next event must land after every position a client has seen,
    even when the newest one was a to-device message that has since been deleted."""
    from bastion.store.stream import StreamPositions

    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    token = (await bob.sync())["next_batch"]
    await alice.put("/sendToDevice/m.test/hw", json={"messages": {bob.user_id: {"*": {"a": 1}}}})
    seen = await bob.sync(since=token)
    await bob.sync(since=seen["next_batch"])  # acknowledges, so the message row is deleted
    assert await hs.runtime.db.fetch_val("SELECT COUNT(*) FROM to_device_messages") == 0
    reloaded = await StreamPositions.load(hs.runtime.db)
    held = int(seen["next_batch"].removeprefix("s").split("_")[0])
    assert reloaded.persisted_upto() >= held
