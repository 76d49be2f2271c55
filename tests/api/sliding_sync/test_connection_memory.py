"""What a process keeps of a connection between requests (services/sliding_sync/connection.py):
the memory as of the pos it issued last, so the next request of the connection reads nothing
back, and a woken response stored in one statement (the changed rooms' memories carried in the
position row). Whatever is kept, a changed request is honoured at once and a restart goes on
from the pos (the database can always serve the next request)."""

from __future__ import annotations

from pathlib import Path

from bastion.config import DatabaseConfig
from tests.conftest import Homeserver, UserClient, homeserver_with

from .sliding_client import SlidingClient, all_rooms, room_ids


async def test_a_woken_request_reads_nothing_back_and_writes_one_statement(
    hs: Homeserver,
) -> None:
    """MSC4186: "Sync time should be independent of the number of rooms you are in"; issue 14:
    "a woken request cheaper than a woken /sync". On the process that issued the pos, a woken
    request costs the token, /sync's probe (which also reads the room's unread counts), the
    room's bump stamp, its timeline, and one write (on SQLite inside its BEGIN): no read of the
    position or of the room's memory, no deletes."""
    alice = await hs.register_user("alice")
    rooms = [await alice.create_room(name=f"Ward {i}") for i in range(20)]
    client = SlidingClient(alice)
    body = {"lists": {"all": all_rooms(0, 19)}}
    await client.sync(body)
    await alice.send_text(rooms[1], "warm")  # the first woken request after the full one
    await client.sync(body)
    db = hs.runtime.db
    budget = 6 if db.dialect == "sqlite" else 5
    for n in range(3):
        await alice.send_text(rooms[n * 5], f"news {n}")
        before = db.query_count
        woken = await client.sync(body)
        spent = db.query_count - before
        assert list(woken["rooms"]) == [rooms[n * 5]]
        assert woken["rooms"][rooms[n * 5]]["timeline"][0]["content"]["body"] == f"news {n}"
        assert spent <= budget, spent


async def test_a_changed_request_is_honoured_at_once(hs: Homeserver) -> None:
    """MSC4186 "Changing room configs": "the server should send the room down again with the new
    config" and a list whose ranges grow sends the rooms that entered them; the kept memory of
    the previous request must not hide either."""
    alice = await hs.register_user("alice")
    rooms = [await alice.create_room(name=f"Ward {i}") for i in range(6)]
    client = SlidingClient(alice)
    small = {"lists": {"all": all_rooms(0, 1)}}
    await client.sync(small)
    await alice.send_text(rooms[5], "news")
    assert list((await client.sync(small))["rooms"]) == [rooms[5]]
    grown = {"lists": {"all": all_rooms(0, 3)}}
    response = await client.sync(grown)
    assert room_ids(response) == [rooms[5], rooms[4], rooms[3], rooms[2]]
    assert set(response["rooms"]) == {rooms[3], rooms[2]}  # entered the range: sent whole
    topic = {"topic": "Handover at eight"}
    resp = await alice.put(f"/rooms/{rooms[4]}/state/m.room.topic/", json=topic)
    assert resp.status_code == 200, resp.text
    await client.sync(grown)  # the topic event is news of its own, sent with the old config
    wider = {
        "lists": {
            "all": all_rooms(0, 3, required_state=[["m.room.name", ""], ["m.room.topic", ""]])
        }
    }
    response = await client.sync(wider)
    assert list(response["rooms"]) == [rooms[4]]  # the one room the wider config adds state to
    state = response["rooms"][rooms[4]]["required_state"]
    assert [e["content"] for e in state if e["type"] == "m.room.topic"] == [topic]


async def test_a_restart_goes_on_from_a_woken_pos(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    """MSC4186: the `pos` names what the client has. Positions stored by woken requests carry
    their rooms' memories in their own row; after a restart (nothing kept in memory) the pos
    goes on: a room sent is not sent again without news, and news is sent once, as news (not
    the whole room)."""
    body = {"lists": {"all": all_rooms(0, 9)}}
    async with homeserver_with(tmp_path, database_config) as hs:
        alice = await hs.register_user("alice")
        rooms = [await alice.create_room(name=f"Ward {i}") for i in range(4)]
        client = SlidingClient(alice)
        await client.sync(body)
        for n in range(3):
            await alice.send_text(rooms[n], f"news {n}")
            assert list((await client.sync(body))["rooms"]) == [rooms[n]]
    async with homeserver_with(tmp_path, database_config) as restarted:
        alice = UserClient(restarted.http, alice.user_id, alice.device_id, alice.token)
        client.user = alice
        quiet = await client.sync(body)
        assert "rooms" not in quiet or not quiet["rooms"]
        await alice.send_text(rooms[1], "after the restart")
        response = await client.sync(body)
        assert list(response["rooms"]) == [rooms[1]]
        sent = response["rooms"][rooms[1]]
        assert "initial" not in sent
        assert [e["content"]["body"] for e in sent["timeline"]] == ["after the restart"]
