"""Typing notifications, read receipts (public and private) and read markers."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import Homeserver, UserClient, errcode


def ephemeral(sync: dict[str, Any], room_id: str, event_type: str) -> list[dict[str, Any]]:
    room = sync["rooms"]["join"].get(room_id)
    events = room["ephemeral"]["events"] if room else []
    return [e for e in events if e["type"] == event_type]


async def two_in_a_room(hs: Homeserver) -> tuple[UserClient, UserClient, UserClient, str]:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    return alice, bob, carol, room_id


async def test_typing_is_seen_by_members_and_wakes_their_sync(hs: Homeserver) -> None:
    alice, bob, carol, room_id = await two_in_a_room(hs)
    token = (await bob.sync())["next_batch"]
    waiting = asyncio.create_task(bob.sync(since=token, timeout=30000))
    await hs.wait_for_waiting_syncs(1)
    resp = await alice.put(
        f"/rooms/{room_id}/typing/{alice.user_id}", json={"typing": True, "timeout": 20000}
    )
    assert resp.status_code == 200
    woken = await asyncio.wait_for(waiting, timeout=10)
    assert ephemeral(woken, room_id, "m.typing") == [
        {"type": "m.typing", "content": {"user_ids": [alice.user_id]}}
    ]
    await alice.put(f"/rooms/{room_id}/typing/{alice.user_id}", json={"typing": False})
    stopped = await bob.sync(since=woken["next_batch"])
    assert ephemeral(stopped, room_id, "m.typing")[0]["content"]["user_ids"] == []
    quiet = await bob.sync(since=stopped["next_batch"])
    assert room_id not in quiet["rooms"]["join"]
    # Refusals: typing for someone else, or in a room one is not in.
    resp = await alice.put(f"/rooms/{room_id}/typing/{bob.user_id}", json={"typing": True})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    resp = await carol.put(f"/rooms/{room_id}/typing/{carol.user_id}", json={"typing": True})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    resp = await alice.put(f"/rooms/{room_id}/typing/{alice.user_id}", json={"typing": "yes"})
    assert errcode(resp) == (400, "M_BAD_JSON")


async def test_receipts_public_private_and_threaded(hs: Homeserver) -> None:
    alice, bob, carol, room_id = await two_in_a_room(hs)
    message = await alice.send_text(room_id, "please read")
    token = (await alice.sync())["next_batch"]
    bob_token = (await bob.sync())["next_batch"]
    assert (
        await bob.post(f"/rooms/{room_id}/receipt/m.read/{message}", json={})
    ).status_code == 200
    receipts = ephemeral(await alice.sync(since=token), room_id, "m.receipt")
    assert receipts[0]["content"][message]["m.read"][bob.user_id]["ts"] > 0
    threaded = {"thread_id": "main"}
    assert (
        await bob.post(f"/rooms/{room_id}/receipt/m.read/{message}", json=threaded)
    ).status_code == 200
    # A private receipt reaches its owner only.
    token = (await alice.sync())["next_batch"]
    await bob.post(f"/rooms/{room_id}/receipt/m.read.private/{message}", json={})
    assert ephemeral(await alice.sync(since=token), room_id, "m.receipt") == []
    own = ephemeral(await bob.sync(since=bob_token), room_id, "m.receipt")
    assert bob.user_id in own[0]["content"][message]["m.read.private"]
    # Initial sync carries the current public receipts.
    initial = ephemeral(await alice.sync(), room_id, "m.receipt")
    assert bob.user_id in initial[0]["content"][message]["m.read"]
    assert "m.read.private" not in initial[0]["content"][message]
    # Refusals.
    assert errcode(await bob.post(f"/rooms/{room_id}/receipt/m.unknown/{message}", json={})) == (
        400,
        "M_INVALID_PARAM",
    )
    assert errcode(await bob.post(f"/rooms/{room_id}/receipt/m.read/$nope", json={})) == (
        404,
        "M_NOT_FOUND",
    )
    assert errcode(await carol.post(f"/rooms/{room_id}/receipt/m.read/{message}", json={})) == (
        403,
        "M_FORBIDDEN",
    )


async def test_read_markers(hs: Homeserver) -> None:
    alice, bob, _carol, room_id = await two_in_a_room(hs)
    message = await alice.send_text(room_id, "marker here")
    token = (await bob.sync())["next_batch"]
    body = {"m.fully_read": message, "m.read": message}
    assert (await bob.post(f"/rooms/{room_id}/read_markers", json=body)).status_code == 200
    sync = await bob.sync(since=token)
    data = sync["rooms"]["join"][room_id]["account_data"]["events"]
    assert {"type": "m.fully_read", "content": {"event_id": message}} in data
    assert bob.user_id in ephemeral(sync, room_id, "m.receipt")[0]["content"][message]["m.read"]
    fully_read = await bob.get(f"/user/{bob.user_id}/rooms/{room_id}/account_data/m.fully_read")
    assert fully_read.json() == {"event_id": message}
    resp = await bob.post(f"/rooms/{room_id}/read_markers", json={"m.fully_read": 5})
    assert errcode(resp) == (400, "M_BAD_JSON")


async def test_typing_times_out_and_members_are_told(hs: Homeserver) -> None:
    alice, bob, _carol, room_id = await two_in_a_room(hs)
    await alice.put(
        f"/rooms/{room_id}/typing/{alice.user_id}", json={"typing": True, "timeout": 100}
    )
    typing = await bob.sync()
    assert ephemeral(typing, room_id, "m.typing")[0]["content"]["user_ids"] == [alice.user_id]
    after = await asyncio.wait_for(bob.sync(since=typing["next_batch"], timeout=10000), timeout=10)
    assert ephemeral(after, room_id, "m.typing")[0]["content"]["user_ids"] == []


async def test_threaded_receipt_must_name_the_thread_its_event_is_in(hs: Homeserver) -> None:
    alice, bob, _carol, room_id = await two_in_a_room(hs)
    root = await alice.send_text(room_id, "root")
    resp = await alice.put(
        f"/rooms/{room_id}/send/m.room.message/t1",
        json={"msgtype": "m.text", "body": "reply",
              "m.relates_to": {"rel_type": "m.thread", "event_id": root}},
    )  # fmt: skip
    reply = resp.json()["event_id"]
    receipt = f"/rooms/{room_id}/receipt/m.read"
    assert errcode(await bob.post(f"{receipt}/{reply}", json={"thread_id": ""})) == (
        400, "M_INVALID_PARAM",
    )  # fmt: skip
    assert errcode(await bob.post(f"{receipt}/{reply}", json={"thread_id": "main"})) == (
        400, "M_INVALID_PARAM",
    )  # fmt: skip
    assert errcode(await bob.post(f"{receipt}/{root}", json={"thread_id": "$other"})) == (
        400, "M_INVALID_PARAM",
    )  # fmt: skip
    marker = f"/rooms/{room_id}/receipt/m.fully_read/{root}"
    assert errcode(await bob.post(marker, json={"thread_id": "main"})) == (400, "M_INVALID_PARAM")
    assert (await bob.post(f"{receipt}/{root}", json={"thread_id": root})).status_code == 200
    assert (await bob.post(f"{receipt}/{reply}", json={"thread_id": root})).status_code == 200
    assert (await bob.post(f"{receipt}/{root}", json={"thread_id": "main"})).status_code == 200
    receipts = ephemeral(await alice.sync(), room_id, "m.receipt")
    seen = receipts[0]["content"]
    assert seen[reply]["m.read"][bob.user_id]["thread_id"] == root
    assert seen[root]["m.read"][bob.user_id]["thread_id"] == "main"
