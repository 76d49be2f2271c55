"""Connections and positions (MSC4186 "Connections"), long-polling, and the connection's memory
surviving a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bastion.config import DatabaseConfig
from tests.conftest import OPERATOR, Homeserver, UserClient, errcode, homeserver_with

from .sliding_client import SlidingClient, all_rooms

LIST = {"lists": {"all": all_rooms()}}


@pytest.mark.parametrize("merged", [False, True])
async def test_each_response_has_a_pos_and_a_retry_of_it_works(
    hs: Homeserver, merged: bool
) -> None:
    """ "each response includes a `pos` token that can be used for subsequent requests"; "The
    server MUST ensure that any per-connection state it tracks correctly handles receiving
    multiple requests with the latest `pos` token (e.g. the client retries the request)\""""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(name="Ward 7")
    client = SlidingClient(alice, merged=merged)
    first = await client.sync(LIST)
    assert room_id in first["rooms"]
    await alice.send_text(room_id, "hello")
    second = await client.request(LIST, pos=first["pos"])
    assert second.status_code == 200
    assert second.json()["pos"] != first["pos"]
    assert room_id in second.json()["rooms"]
    # The second response was lost: the client retries the first pos and gets the news again.
    retried = await client.request(LIST, pos=first["pos"])
    assert retried.status_code == 200
    timeline = retried.json()["rooms"][room_id]["timeline"]
    assert [e["content"].get("body") for e in timeline] == ["hello"]
    # It goes on from the retried response; the room is not sent again without news.
    following = await client.request(LIST, pos=retried.json()["pos"])
    assert following.json()["rooms"] == {}
    # Those responses changed nothing the next one cannot derive: they stored nothing, so the
    # first pos names what is still stored. Once a response stored something (a new room) and
    # its pos was used, the positions before it are gone.
    await alice.create_room(name="Ward 8")
    stored = await client.request(LIST, pos=following.json()["pos"])
    assert len(stored.json()["rooms"]) == 1
    assert (await client.request(LIST, pos=stored.json()["pos"])).status_code == 200
    assert errcode(await client.request(LIST, pos=first["pos"])) == (400, "M_UNKNOWN_POS")


async def test_unknown_and_foreign_positions_are_refused(hs: Homeserver) -> None:
    """ "A server may decide to "expire" connections [...] responding with a 400 HTTP status and
    an error code of `M_UNKNOWN_POS`"; "Servers MUST reject a `pos` that was not issued to the
    requesting user and device, responding with `M_UNKNOWN_POS`.\""""
    alice = await hs.register_user("alice")
    await alice.create_room()
    pos = (await SlidingClient(alice).sync(LIST))["pos"]
    other_device = await hs.login("alice")
    bob = await hs.register_user("bob")
    for user, conn_id, token in (
        (alice, "room-list", "s1_k0_ss000000000000x1"),  # never issued
        (alice, "room-list", "garbage"),
        (alice, "room-list", pos.replace("x1", "x9")),  # a seq not issued
        (alice, "encryption", pos),  # another connection of the same device
        (other_device, "room-list", pos),  # another device of the same user
        (bob, "room-list", pos),  # another user
    ):
        resp = await SlidingClient(user, conn_id=conn_id).request(LIST, pos=token)
        assert errcode(resp) == (400, "M_UNKNOWN_POS"), (user.device_id, conn_id, token)
    # A new connection (no pos) for the same conn_id replaces the old one.
    await SlidingClient(alice).sync(LIST)
    assert errcode(await SlidingClient(alice).request(LIST, pos=pos)) == (400, "M_UNKNOWN_POS")


async def test_connections_of_one_device_are_independent(hs: Homeserver) -> None:
    """ "Clients can have multiple connections with the server, so long as each connection has
    a different `conn_id`\""""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    room_list, encryption = SlidingClient(alice), SlidingClient(alice, conn_id="encryption")
    assert room_id in (await room_list.sync(LIST))["rooms"]
    await encryption.sync({"extensions": {"to_device": {"enabled": True}}})
    assert (await room_list.sync(LIST))["rooms"] == {}
    # The other connection has not sent the room yet: it does, once.
    assert room_id in (await encryption.sync(LIST))["rooms"]
    assert (await encryption.sync(LIST))["rooms"] == {}


async def test_a_long_poll_is_woken_by_a_message(hs: Homeserver) -> None:
    """ "If no rooms have changes, the server will block waiting for a change (aka
    long-polling, like `/v3/sync`)": woken by the same notifier as /sync, with only that
    room."""
    alice = await hs.register_user("alice")
    rooms = [await alice.create_room(name=f"r{i}") for i in range(3)]
    client = SlidingClient(alice)
    await client.sync(LIST)
    waiting = asyncio.ensure_future(client.sync(LIST, timeout_ms=600_000))
    await hs.wait_for_waiting_syncs(1)
    await alice.send_text(rooms[1], "wake up")
    response = await asyncio.wait_for(waiting, timeout=30)
    assert list(response["rooms"]) == [rooms[1]]


async def test_a_long_poll_with_nothing_new_ends_at_its_timeout(hs: Homeserver) -> None:
    """ "How long to wait for new events in milliseconds": nothing new, an empty response."""
    alice = await hs.register_user("alice")
    await alice.create_room()
    client = SlidingClient(alice)
    first = await client.sync(LIST)
    quiet = await asyncio.wait_for(client.sync(LIST, timeout_ms=20), timeout=30)
    assert quiet["rooms"] == {}
    assert quiet["lists"]["all"]["count"] == 1
    assert quiet["pos"].endswith(first["pos"].rsplit("_", 1)[1])  # same memory, no new seq


async def test_a_first_request_never_waits(hs: Homeserver) -> None:
    """ "Ignored when no `pos` is set.\""""
    alice = await hs.register_user("alice")
    response = await asyncio.wait_for(SlidingClient(alice).sync({}, timeout_ms=600_000), 30)
    assert response["rooms"] == {}


async def test_a_parked_poll_fails_with_401_when_the_sessions_are_revoked(
    hs: Homeserver,
) -> None:
    """Like /sync: a poll parked for a user whose sessions are revoked answers 401
    M_UNKNOWN_TOKEN at once."""
    bob = await hs.register_user("bob")
    client = SlidingClient(bob)
    await client.sync(LIST)
    waiting = asyncio.ensure_future(client.request(LIST, pos=client.pos, timeout_ms=600_000))
    await hs.wait_for_waiting_syncs(1)
    await hs.runtime.services.offboarding.offboard(OPERATOR, bob.user_id)
    assert errcode(await asyncio.wait_for(waiting, 30)) == (401, "M_UNKNOWN_TOKEN")


async def test_the_memory_survives_a_restart(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    """The connection's memory is in the database: after a restart the old pos goes on, and
    a room already sent is not sent again without news."""
    async with homeserver_with(tmp_path, database_config) as hs:
        alice = await hs.register_user("alice")
        quiet = await alice.create_room(name="Quiet")
        busy = await alice.create_room(name="Busy")
        client = SlidingClient(alice)
        first = await client.sync(LIST)
        assert set(first["rooms"]) == {quiet, busy}
    async with homeserver_with(tmp_path, database_config) as restarted:
        alice = UserClient(restarted.http, alice.user_id, alice.device_id, alice.token)
        await alice.send_text(busy, "after the restart")
        client.user = alice
        response = await client.sync(LIST)
        assert list(response["rooms"]) == [busy]
        assert "initial" not in response["rooms"][busy]


async def test_positions_are_bounded_and_idle_connections_pruned(hs: Homeserver) -> None:
    """ "Once a server has seen a request with a given `pos`, the server may clean up any
    per-connection state from before that `pos`"; "Servers SHOULD limit the amount of data that
    they store per-user\""""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    client = SlidingClient(alice)
    for i in range(5):
        await alice.send_text(room_id, f"m{i}")
        await client.sync(LIST)
    stored = await hs.runtime.db.fetch_val(
        "SELECT COUNT(*) FROM sliding_sync_positions WHERE seq > 0"
    )
    assert stored <= 2  # the pos the client holds, and at most the one after it
    snapshots = await hs.runtime.db.fetch_val(  # their lists' order snapshots (order_chain.py)
        "SELECT COUNT(*) FROM sliding_sync_positions WHERE seq < 0"
    )
    assert snapshots <= 2
    rows = await hs.runtime.db.fetch_val(
        "SELECT COUNT(*) FROM sliding_sync_rooms WHERE room_id = ?", room_id
    )
    assert rows <= 2
    hs.clock.advance(8 * 24 * 3600)  # over a week idle: forgotten when another starts
    await SlidingClient(await hs.login("alice"), conn_id="other").sync(LIST)
    assert errcode(await client.request(LIST, pos=client.pos)) == (400, "M_UNKNOWN_POS")


async def test_concurrent_requests_of_one_connection_both_answer(hs: Homeserver) -> None:
    """ "Clients MAY change the request body if they cancel a request and send a new one with the
    same `pos`": requests that overlap on the server never fail, and the last one counts."""
    alice = await hs.register_user("alice")
    await alice.create_room()
    client = SlidingClient(alice)
    starts = await asyncio.gather(client.request(LIST), client.request(LIST))
    assert [r.status_code for r in starts] == [200, 200]  # one of the two connections stays
    pos = (await client.sync(LIST))["pos"]
    await alice.create_room()
    again = await asyncio.gather(client.request(LIST, pos=pos), client.request(LIST, pos=pos))
    assert [r.status_code for r in again] == [200, 200]
    latest = await client.request(LIST, pos=again[1].json()["pos"])
    assert latest.status_code == 200
