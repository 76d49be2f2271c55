"""Woken responses answered without writing (services/sliding_sync/connection.py "no-write
answers"): new events in rooms the connection already has change nothing the next request
cannot derive, so nothing is stored, and every pos stays a valid place to go on from."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bastion.config import DatabaseConfig
from tests.conftest import Homeserver, UserClient, homeserver_with

from .sliding_client import SlidingClient, all_rooms

LIST = {"lists": {"all": all_rooms(0, 9)}}
LAZY = {"lists": {"all": all_rooms(0, 9, required_state=[["m.room.member", "$LAZY"]])}}


def _seq(pos: str) -> int:
    found = re.search(r"_ss[0-9a-f]+x(\d+)", pos)
    assert found is not None, pos
    return int(found[1])


async def _stored(hs: Homeserver) -> list[Any]:
    """Every stored row of every connection: positions (with their versions) and memories."""
    db = hs.runtime.db
    positions = await db.fetch_all(
        "SELECT conn_key, seq, version, scope FROM sliding_sync_positions ORDER BY conn_key, seq"
    )
    rooms = await db.fetch_all(
        "SELECT conn_key, room_id, seq, memory FROM sliding_sync_rooms"
        " ORDER BY conn_key, room_id, seq"
    )
    return [tuple(r) for r in positions] + [tuple(r) for r in rooms]


def _bodies(response: dict[str, Any]) -> dict[str, list[str]]:
    return {
        room_id: [e["content"].get("body", "") for e in room.get("timeline", [])]
        for room_id, room in response.get("rooms", {}).items()
    }


async def test_a_woken_request_with_news_in_a_room_already_sent_writes_nothing(
    hs: Homeserver,
) -> None:
    """MSC4186: "only what changed since `pos` is sent" (the connection remembers what the
    client has). A message in a room the client already has changes nothing but stream
    positions, which the pos carries: the response stores nothing (no row written or
    replaced), yet each later request sends each message once, in the list's new order."""
    alice = await hs.register_user("alice")
    rooms = [await alice.create_room(name=f"Ward {i}") for i in range(3)]
    client = SlidingClient(alice)
    await client.sync(LIST)
    assert client.pos is not None
    seq = _seq(client.pos)
    stored = await _stored(hs)
    for n, room_id in enumerate([rooms[0], rooms[1], rooms[0], rooms[2]]):
        await alice.send_text(room_id, f"news {n}")
        woken = await client.sync(LIST)
        assert _bodies(woken) == {room_id: [f"news {n}"]}
        assert client.held["all"][0] == room_id  # bumped to the top of the list
        assert _seq(woken["pos"]) == seq
        assert await _stored(hs) == stored
    assert (await client.sync(LIST))["rooms"] == {}


async def test_a_retry_of_the_pos_before_a_no_write_answer_sends_the_same_again(
    hs: Homeserver,
) -> None:
    """MSC4186: "The server MUST ensure that any per-connection state it tracks correctly
    handles receiving multiple requests with the latest `pos` token (e.g. the client retries
    the request)". After an answer that stored nothing, a retry of the pos before it gets the
    same rooms and events again, and both the retried answer's pos and the lost one go on
    without sending them a third time."""
    alice = await hs.register_user("alice")
    rooms = [await alice.create_room(name=f"Ward {i}") for i in range(2)]
    client = SlidingClient(alice)
    await client.sync(LIST)
    await alice.send_text(rooms[0], "one")
    await client.sync(LIST)
    before = client.pos
    await alice.send_text(rooms[1], "two")
    lost = await client.sync(LIST)
    assert _bodies(lost) == {rooms[1]: ["two"]}
    retried = await client.request(LIST, pos=before)
    assert retried.status_code == 200, retried.text
    assert _bodies(retried.json()) == {rooms[1]: ["two"]}
    await alice.send_text(rooms[0], "three")
    for pos in (retried.json()["pos"], lost["pos"]):
        following = await client.request(LIST, pos=pos)
        assert following.status_code == 200, following.text
        assert _bodies(following.json()) == {rooms[0]: ["three"]}


async def test_a_lazy_member_newly_sent_is_stored_and_not_sent_again(hs: Homeserver) -> None:
    """MSC4186 (lazy-loaded members): a timeline sender's member event is sent once with
    `$LAZY`. A woken response that sends one for the first time changes what the connection
    remembers: it is stored (a new position); the next message of the same sender does not
    send the member event again, and stores nothing."""
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    await alice.send_text(room_id, "welcome")
    client = SlidingClient(alice)
    first = await client.sync(LAZY)
    assert client.pos is not None
    members = {e["state_key"] for e in first["rooms"][room_id].get("required_state", [])}
    assert bob.user_id not in members  # not a sender of the timeline
    seq = _seq(client.pos)
    await bob.send_text(room_id, "hi")
    woken = await client.sync(LAZY)
    sent = [e["state_key"] for e in woken["rooms"][room_id].get("required_state", [])]
    assert sent == [bob.user_id]
    assert _seq(woken["pos"]) == seq + 1  # stored
    stored = await _stored(hs)
    await bob.send_text(room_id, "again")
    again = await client.sync(LAZY)
    assert _bodies(again) == {room_id: ["again"]}
    assert "required_state" not in again["rooms"][room_id]
    assert _seq(again["pos"]) == seq + 1
    assert await _stored(hs) == stored


async def test_a_restart_goes_on_from_a_no_write_pos(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    """The connection's memory is in the database; a pos answered without writing names it
    and what the next request derives from it: after a restart that pos goes on, the room it
    sent is not sent again, and the news since is sent once."""
    async with homeserver_with(tmp_path, database_config) as hs:
        alice = await hs.register_user("alice")
        rooms = [await alice.create_room(name=f"Ward {i}") for i in range(3)]
        client = SlidingClient(alice)
        await client.sync(LIST)
        assert client.pos is not None
        seq = _seq(client.pos)
        await alice.send_text(rooms[0], "before the restart")
        woken = await client.sync(LIST)
        assert _seq(woken["pos"]) == seq
    async with homeserver_with(tmp_path, database_config) as restarted:
        alice = UserClient(restarted.http, alice.user_id, alice.device_id, alice.token)
        client.user = alice
        assert (await client.sync(LIST))["rooms"] == {}
        await alice.send_text(rooms[1], "after the restart")
        response = await client.sync(LIST)
        assert _bodies(response) == {rooms[1]: ["after the restart"]}
        assert client.held["all"][:2] == [rooms[1], rooms[0]]
        await alice.send_text(rooms[0], "and again")
        assert _bodies(await client.sync(LIST)) == {rooms[0]: ["and again"]}


async def test_what_answers_without_writing_sent_is_stored_by_the_next_write(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    """MSC4186: the connection remembers what the client has, across restarts (issue 14: the
    memory "survives a restart"). Answers that stored nothing (this process kept what they
    sent) are followed by one that writes (a lazy member sent for the first time): that write
    stores what the earlier answers sent too. After a restart, neither the incremental path
    nor a full computation (the lists changed) sends those messages again, and the list keeps
    the order they gave it."""
    async with homeserver_with(tmp_path, database_config) as hs:
        alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
        rooms = [await alice.create_room(name=f"Ward {i}") for i in range(2)]
        rooms.append(await alice.create_room(preset="public_chat"))
        await bob.join(rooms[2])
        await alice.send_text(rooms[2], "welcome")  # bob is not a sender of the timeline
        client = SlidingClient(alice)
        await client.sync(LAZY)
        assert client.pos is not None
        seq = _seq(client.pos)
        for room_id, text in ((rooms[1], "first"), (rooms[0], "second")):
            await alice.send_text(room_id, text)
            assert _bodies(await client.sync(LAZY)) == {room_id: [text]}
        assert _seq(client.pos) == seq  # nothing stored
        await bob.send_text(rooms[2], "hi")
        woken = await client.sync(LAZY)
        assert [e["state_key"] for e in woken["rooms"][rooms[2]]["required_state"]] == [bob.user_id]
        assert _seq(woken["pos"]) == seq + 1
    async with homeserver_with(tmp_path, database_config) as restarted:
        alice = UserClient(restarted.http, alice.user_id, alice.device_id, alice.token)
        client.user = alice
        assert (await client.sync(LAZY))["rooms"] == {}
        assert client.held["all"][:3] == [rooms[2], rooms[0], rooms[1]]
        both = {"lists": {**LAZY["lists"], "again": LAZY["lists"]["all"]}}
        full = await client.sync(both)  # computed in full from the memberships
        assert full["rooms"] == {}  # nothing sent again
        assert "ops" not in full["lists"]["all"]  # the stored order was the one the client has
        await alice.send_text(rooms[0], "third")
        assert _bodies(await client.sync(both)) == {rooms[0]: ["third"]}
