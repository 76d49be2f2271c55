"""What a woken sliding-sync request costs: in proportion to the rooms with news, not to the
rooms in the lists' ranges (issue 14: "a woken request cheaper than a woken /sync")."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from typing import Any

import pytest

from bastion.services.e2ee.device_lists import DeviceListService
from bastion.services.e2ee.to_device import ToDeviceService
from bastion.services.principal import Requester
from bastion.services.rooms.create import CreateRoomRequest
from bastion.services.sliding_sync.extensions.e2ee import E2eeExtension
from bastion.services.sliding_sync.lists import RoomLists
from bastion.store.sql.sync_probe import SqlSyncProbeStore
from tests.api.sliding_sync.sliding_client import SlidingClient, all_rooms, room_ids
from tests.api.sliding_sync.test_extension_endpoints import encryption_request, send_to_device
from tests.conftest import Homeserver, UserClient
from tests.redis_support import eventually


async def _rooms(hs: Homeserver, user: UserClient, count: int) -> list[str]:
    requester = Requester(user.user_id, user.device_id, is_admin=False)
    return [
        await hs.runtime.services.rooms.create_room(
            requester, CreateRoomRequest(preset="private_chat", name=f"Ward {i:04d}")
        )
        for i in range(count)
    ]


async def test_a_woken_request_costs_the_same_at_30_and_at_300_rooms(hs: Homeserver) -> None:
    """MSC4186: "Sync time should be independent of the number of rooms you are in." With every
    room in range (Element X's grown list), a message in one room costs the next request the
    same queries at 30 rooms as at 300, and builds the room with news since the previous
    answer only (that answer stored nothing, but this process kept what it derived:
    connection.py "no-write answers", `Derived`): it neither reads nor decodes what the
    connection remembers of the other rooms."""
    alice = await hs.register_user("alice")
    db = hs.runtime.db
    built = hs.runtime.services.room_results
    costs: list[tuple[int, int]] = []
    rooms: list[str] = []
    for count in (30, 300):
        rooms += await _rooms(hs, alice, count - len(rooms))
        client = SlidingClient(alice, conn_id=f"list{count}")
        body = {"lists": {"all": all_rooms(0, count - 1)}}
        assert len(room_ids(await client.sync(body))) == count
        for n in range(2):  # the second message: the order was computed incrementally before
            await alice.send_text(rooms[n * 7], f"news {n}")
            before, rooms_before = db.query_count, built.rooms_built
            woken = await client.sync(body)
            assert list(woken["rooms"]) == [rooms[n * 7]]
            assert client.held["all"][0] == rooms[n * 7]  # bumped to the top of the list
        costs.append((db.query_count - before, built.rooms_built - rooms_before))
    assert costs[0] == costs[1], costs
    assert costs[0][1] == 1, costs  # the room with news built, not one per room in range


async def test_a_room_pushed_into_a_later_range_is_sent(hs: Homeserver) -> None:
    """MSC4186 "Lists": the rooms in a list's ranges follow the list's order; a message that
    bumps one room to the top pushes the others down, so a room without news that moves into
    another range of the list must be sent (and one that leaves every range is not)."""
    alice = await hs.register_user("alice")
    rooms = await _rooms(hs, alice, 6)  # newest first: rooms[5], rooms[4], ...
    client = SlidingClient(alice)
    body = {"lists": {"all": {**all_rooms(0, 1), "ranges": [[0, 1], [3, 4]]}}}
    first = await client.sync(body)
    assert room_ids(first) == [rooms[5], rooms[4], rooms[2], rooms[1]]
    await alice.send_text(rooms[0], "news")
    woken = await client.sync(body)
    assert room_ids(woken) == [rooms[0], rooms[5], rooms[3], rooms[2]]
    assert set(woken["rooms"]) == {rooms[0], rooms[3]}
    assert woken["rooms"][rooms[3]]["initial"] is True


async def test_a_room_turning_encrypted_joins_an_encrypted_list(hs: Homeserver) -> None:
    """MSC4186 "is_encrypted: Flag which only returns rooms which have an `m.room.encryption`
    state event": a room that gets one while the connection runs enters the list."""
    alice = await hs.register_user("alice")
    rooms = await _rooms(hs, alice, 3)
    client = SlidingClient(alice)
    body = {"lists": {"all": all_rooms(0, 9, filters={"is_encrypted": True})}}
    assert (await client.sync(body))["lists"]["all"]["count"] == 0
    content = {"algorithm": "m.megolm.v1.aes-sha2"}
    resp = await alice.put(f"/rooms/{rooms[1]}/state/m.room.encryption/", json=content)
    assert resp.status_code == 200, resp.text
    woken = await client.sync(body)
    assert woken["lists"]["all"]["count"] == 1
    assert room_ids(woken) == [rooms[1]]
    assert list(woken["rooms"]) == [rooms[1]]


async def test_a_forgotten_kicked_room_leaves_the_list(hs: Homeserver) -> None:
    """MSC4186: "Rooms the user has been kicked or banned from will always be included in the
    server list"; but /forget "stops a user remembering about a particular room", so a
    forgotten one is in no list. Forgetting writes nothing on the stream, yet the next request
    drops the room."""
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    kept = await bob.create_room()
    kicked = await alice.create_room(preset="public_chat")
    await bob.join(kicked)
    resp = await alice.post(f"/rooms/{kicked}/kick", json={"user_id": bob.user_id})
    assert resp.status_code == 200, resp.text
    client = SlidingClient(bob)
    body = {"lists": {"all": all_rooms(0, 9)}}
    assert (await client.sync(body))["lists"]["all"]["count"] == 2
    assert (await client.sync(body))["lists"]["all"]["count"] == 2  # kicked: stays listed
    assert (await bob.post(f"/rooms/{kicked}/forget", json={})).status_code == 200
    after = await client.sync(body)
    assert after["lists"]["all"]["count"] == 1
    assert room_ids(after) == [kept]


def _conn_and_seq(pos: str) -> tuple[str, int]:
    found = re.fullmatch(r".*_ss([0-9a-f]+)x(\d+)(?:_v[0-9a-f]+)?(?:_b\d+)?", pos)
    assert found is not None, pos
    return found[1], int(found[2])


async def _bytes_stored_at(hs: Homeserver, pos: str) -> int:
    """What the response that issued `pos` wrote: its position row (with the lists' order),
    an order snapshot taken at it, and the room memories it changed."""
    conn_key, seq = _conn_and_seq(pos)
    db = hs.runtime.db
    positions = await db.fetch_val(
        "SELECT COALESCE(SUM(LENGTH(scope)), 0) FROM sliding_sync_positions"
        " WHERE conn_key = ? AND (seq = ? OR seq = ?)",
        conn_key, seq, -seq,
    )  # fmt: skip
    rooms = await db.fetch_val(
        "SELECT COALESCE(SUM(LENGTH(memory)), 0) FROM sliding_sync_rooms"
        " WHERE conn_key = ? AND seq = ?",
        conn_key, seq,
    )  # fmt: skip
    return int(positions) + int(rooms)


async def test_a_woken_request_writes_a_few_hundred_bytes(hs: Homeserver) -> None:
    """MSC4186: "Sync time should be independent of the number of rooms you are in." Nor should
    what a woken request writes be: with 300 rooms in range, a message in one of them stores
    the room that moved (order_chain.py), not the whole sorted list again; the first response
    stores the list once."""
    alice = await hs.register_user("alice")
    rooms = await _rooms(hs, alice, 300)
    client = SlidingClient(alice)
    body = {"lists": {"all": all_rooms(0, 299)}}
    await client.sync(body)
    assert client.pos is not None
    assert await _bytes_stored_at(hs, client.pos) > 10_000  # the whole order, once
    for n in range(3):
        await alice.send_text(rooms[n * 50], f"news {n}")
        previous = client.pos
        woken = await client.sync(body)
        assert client.held["all"][0] == rooms[n * 50]
        # "no-write" answers (connection.py) keep the seq and store nothing at all
        if previous is None or _conn_and_seq(woken["pos"]) != _conn_and_seq(previous):
            written = await _bytes_stored_at(hs, woken["pos"])
            assert written < 1_000, written


async def test_the_previous_pos_and_a_long_chain_give_the_full_computation(
    hs: Homeserver,
) -> None:
    """MSC4186: a client may retry a request with the same `pos` ("the server may clean up any
    per-connection state from before that `pos`", not the state of the `pos` itself). Past many
    woken requests (the order stored as diffs, then a new snapshot), and on a retry of the
    previous pos, the list is the one a new connection computes in full."""
    alice = await hs.register_user("alice")
    rooms = await _rooms(hs, alice, 12)
    client = SlidingClient(alice)
    body = {"lists": {"all": all_rooms(0, 11)}}
    await client.sync(body)
    for n in range(12):
        previous = client.pos
        await alice.send_text(rooms[(n * 5) % 12], f"news {n}")
        first = await client.sync(body)
        retry = await client.request(body, pos=previous)
        assert retry.status_code == 200, retry.text
        assert retry.json()["lists"] == first["lists"]  # what the first try of it answered
        client.pos = retry.json()["pos"]
        fresh = await SlidingClient(alice, conn_id=f"fresh{n}").sync(body)
        assert client.held["all"] == room_ids(fresh)


async def test_a_parked_request_reads_its_session_once(hs: Homeserver) -> None:
    """MSC4186 long-polls like /sync ("`timeout`: how long to wait for new data"). Parking costs
    the access token, the position and what the build reads to find nothing new: the token
    check already found the session, so the poll does not read the device again before it
    parks (services/long_poll.py); waking it builds the one room with news."""
    alice = await hs.register_user("alice")
    rooms = await _rooms(hs, alice, 5)
    client = SlidingClient(alice)
    body = {"lists": {"all": all_rooms(0, 4)}}
    await client.sync(body)
    db = hs.runtime.db
    before = db.query_count
    waiting = asyncio.create_task(client.sync(body, timeout_ms=30000))
    await hs.wait_for_waiting_syncs(1)
    parking = db.query_count - before
    await alice.send_text(rooms[2], "wake up")
    woken = await asyncio.wait_for(waiting, timeout=10)
    assert list(woken["rooms"]) == [rooms[2]]
    # the token; the probe (nothing new): the position is this process's own (connection.py)
    assert parking <= 2, parking


async def test_a_woken_request_reads_no_activity_or_state_it_already_has(hs: Homeserver) -> None:
    """MSC4186: "Sync time should be independent of the number of rooms you are in"; issue 14
    asks a woken request to cost less than a woken /sync. /sync's probe already names the joined
    rooms with events since the previous response (their bump stamps are refreshed without
    reading that activity again), and a timeline holding every event since the room was last
    sent, none of them state, says no state changed (`required_state` reads no changes). A
    message in one room: the token, the probe (with the room's unread counts), the room's bump
    stamp, its timeline; the write (one statement, on SQLite inside its BEGIN). The position and
    the room's memory are this process's own (connection.py: it issued the pos)."""
    alice = await hs.register_user("alice")
    rooms = await _rooms(hs, alice, 20)
    client = SlidingClient(alice)
    body = {"lists": {"all": all_rooms(0, 19)}}
    await client.sync(body)
    db = hs.runtime.db
    for n in range(3):
        await alice.send_text(rooms[n * 3], f"news {n}")
        before = db.query_count
        woken = await client.sync(body)
        assert list(woken["rooms"]) == [rooms[n * 3]]
        assert woken["rooms"][rooms[n * 3]]["timeline"][0]["content"]["body"] == f"news {n}"
        spent = db.query_count - before
        assert spent <= (6 if db.dialect == "sqlite" else 5), spent
    # A state event in the window is still sent in `required_state`.
    resp = await alice.put(f"/rooms/{rooms[5]}/state/m.room.name/", json={"name": "Renamed"})
    assert resp.status_code == 200, resp.text
    woken = await client.sync(body)
    state = woken["rooms"][rooms[5]]["required_state"]
    assert [e["content"] for e in state if e["type"] == "m.room.name"] == [{"name": "Renamed"}]


async def test_a_long_poll_at_its_pos_parks_without_building(hs: Homeserver) -> None:
    """MSC4186: "If no rooms have changes, the server will block waiting for a change". A
    long-poll whose pos is at the newest stream position and typing serial, with the lists
    its pos was answered for, has nothing new by construction: it parks after the token check
    alone (no probe, no room read), then answers the wake-up with that room only; with no
    wake-up, its timeout answer is the one a build gives (nothing sent, the lists' count)."""
    alice = await hs.register_user("alice")
    db = hs.runtime.db
    rooms = await _rooms(hs, alice, 5)
    client = SlidingClient(alice)
    body = {"lists": {"all": all_rooms(0, 4)}, "extensions": {"typing": {"enabled": True}}}
    await client.sync(body)
    before = db.query_count
    waiting = asyncio.ensure_future(client.sync(body, timeout_ms=600_000))
    await hs.wait_for_waiting_syncs(1)
    assert db.query_count - before == 1  # the access token's lookup
    await alice.send_text(rooms[2], "wake up")
    woken = await asyncio.wait_for(waiting, timeout=30)
    assert list(woken["rooms"]) == [rooms[2]]
    quiet = await asyncio.wait_for(client.sync(body, timeout_ms=20), timeout=30)
    assert quiet["rooms"] == {}
    assert quiet["lists"]["all"]["count"] == 5


async def test_a_woken_request_moves_a_room_only_for_proper_activity(hs: Homeserver) -> None:
    """MSC4186 `bump_stamp`: "the last "proper" activity in the room" (a message, not a
    reaction or a topic change); lists are sorted by it. A woken request reads the rooms'
    stamps from the probe of what happened since its pos: a reaction wakes it with that room,
    its stamp and its place in the list unchanged; a message then moves it to the top."""
    alice = await hs.register_user("alice")
    rooms = await _rooms(hs, alice, 3)  # newest first: rooms[2], rooms[1], rooms[0]
    event_id = await alice.send_text(rooms[0], "react to me")
    client = SlidingClient(alice)
    body = {"lists": {"all": all_rooms(0, 2)}}
    first = await client.sync(body)
    stamp = first["rooms"][rooms[0]]["bump_stamp"]
    assert client.held["all"][0] == rooms[0]
    await alice.send_text(rooms[1], "now the newest")
    await client.sync(body)
    assert client.held["all"][:2] == [rooms[1], rooms[0]]
    reaction = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": "x"}}
    resp = await alice.put(f"/rooms/{rooms[0]}/send/m.reaction/r1", json=reaction)
    assert resp.status_code == 200, resp.text
    reacted = await client.sync(body)
    assert list(reacted["rooms"]) == [rooms[0]]
    assert reacted["rooms"][rooms[0]]["bump_stamp"] == stamp
    assert "ops" not in reacted["lists"]["all"]  # not moved
    assert client.held["all"][:2] == [rooms[1], rooms[0]]
    await alice.send_text(rooms[0], "a proper message")
    moved = await client.sync(body)
    assert moved["rooms"][rooms[0]]["bump_stamp"] > stamp
    assert client.held["all"][:2] == [rooms[0], rooms[1]]


async def test_a_connection_without_rooms_reads_no_room_when_woken(
    hs: Homeserver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Element X's `encryption` connection (no lists, no subscriptions; only the `to_device`
    and `e2ee` extensions) is woken by every message in the user's rooms and, with nothing for
    it, waits again. Those builds have no room to send, so they must not read the rooms: no
    probe of the window (which grows with every message until the connection answers), no
    lists from the user's memberships; and the streams the probe says hold nothing for it
    (device lists, its to-device inbox) are not read either. Measured before: ~9 ms of CPU per
    message at 1,000 rooms, several times what the message cost everything else. What is for
    it still ends the wait at once (a to-device message)."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    rooms = await _rooms(hs, alice, 5)
    calls: Counter[str] = Counter()

    def counted(name: str, method: Any) -> Any:
        async def spy(*args: Any, **kwargs: Any) -> Any:
            calls[name if kwargs.get("rooms", True) else f"{name} without rooms"] += 1
            return await method(*args, **kwargs)

        return spy

    monkeypatch.setattr(SqlSyncProbeStore, "probe", counted("probe", SqlSyncProbeStore.probe))
    monkeypatch.setattr(RoomLists, "listed", counted("listed", RoomLists.listed))
    monkeypatch.setattr(E2eeExtension, "build", counted("build", E2eeExtension.build))
    for owner, method in ((DeviceListService, "changes"), (ToDeviceService, "deliver")):
        monkeypatch.setattr(owner, method, counted(method, getattr(owner, method)))
    client = SlidingClient(alice, conn_id="encryption")
    body = encryption_request(None)
    first = await client.sync(body)
    body = encryption_request(first["extensions"]["to_device"]["next_batch"])
    poll = asyncio.create_task(client.sync(body, timeout_ms=30_000))
    await eventually(lambda: calls["build"] == 2)  # the poll's first build; it waits
    calls.clear()
    for n, room_id in enumerate(rooms):
        await alice.send_text(room_id, f"news {n}")
        await eventually(lambda n=n: calls["build"] == n + 1)  # woken, built, waits again
    assert not poll.done()
    assert calls["probe"] == 0, calls  # the window of rooms was not read
    assert calls["listed"] == 0, calls  # nor the lists from the memberships
    # one statement per wake-up: which streams may hold something, and the key counts; the
    # device lists and the to-device inbox it said nothing of are not read
    assert calls["probe without rooms"] == len(rooms), calls
    assert calls["changes"] == 0, calls
    assert calls["deliver"] == 0, calls
    await send_to_device(bob, alice, "wake")
    answer = await asyncio.wait_for(poll, timeout=10)
    assert [e["content"] for e in answer["extensions"]["to_device"]["events"]] == [{"txn": "wake"}]
    assert "rooms" not in answer or not answer["rooms"]
