"""Lists: the user's rooms, filtered, sorted by recency, cut by ranges; only what changed is
sent again (MSC4186 "Lists", "SlidingRoomFilter", "Paginating room list")."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Homeserver, UserClient

from .sliding_client import SlidingClient, all_rooms, room_ids


async def _lists(user: UserClient, **filters: Any) -> list[str]:
    """The rooms of a fresh connection's list `all` with `filters` (all of them, in order)."""
    response = await SlidingClient(user).sync({"lists": {"all": all_rooms(0, 99, filters=filters)}})
    return room_ids(response)


async def test_rooms_are_sorted_newest_first_and_cut_by_ranges(hs: Homeserver) -> None:
    """ "the server will respond with the top 20 rooms (by most recently updated)"; `count` is
    "the number of rooms that match the `filters` but ignoring the `range`\""""
    alice = await hs.register_user("alice")
    rooms = [await alice.create_room(name=f"r{i}") for i in range(4)]
    await alice.send_text(rooms[0], "bump")
    client = SlidingClient(alice)
    response = await client.sync({"lists": {"all": all_rooms(0, 1)}})
    assert response["lists"]["all"]["count"] == 4
    assert room_ids(response) == [rooms[0], rooms[3]]
    assert set(response["rooms"]) == {rooms[0], rooms[3]}
    # Growing the range sends only the rooms not sent yet.
    grown = await client.sync({"lists": {"all": all_rooms(0, 9)}})
    assert room_ids(grown) == [rooms[0], rooms[3], rooms[2], rooms[1]]
    assert set(grown["rooms"]) == {rooms[2], rooms[1]}
    # Unchanged: nothing is sent again; news in one room sends only it, now first.
    assert (await client.sync({"lists": {"all": all_rooms(0, 9)}}))["rooms"] == {}
    await alice.send_text(rooms[1], "news")
    news = await client.sync({"lists": {"all": all_rooms(0, 9)}})
    assert list(news["rooms"]) == [rooms[1]]
    assert client.held["all"] == [rooms[1], rooms[0], rooms[3], rooms[2]]


async def test_a_room_entering_the_range_again_is_sent_only_with_news(hs: Homeserver) -> None:
    """ "return any rooms that have had changes since the previous time the room was returned
    to the client\""""
    alice = await hs.register_user("alice")
    old = await alice.create_room(name="old")
    new = await alice.create_room(name="new")
    client = SlidingClient(alice)
    await client.sync({"lists": {"all": all_rooms(0, 1)}})
    await client.sync({"lists": {"all": all_rooms(0, 0)}})  # `old` leaves the range
    assert (await client.sync({"lists": {"all": all_rooms(0, 1)}}))["rooms"] == {}
    await client.sync({"lists": {"all": all_rooms(0, 0)}})
    await alice.send_text(old, "while out of range")  # it is first again, so in range
    await alice.send_text(new, "now new is first")
    response = await client.sync({"lists": {"all": all_rooms(0, 1)}})
    timeline = response["rooms"][old]["timeline"]
    assert [e["content"]["body"] for e in timeline] == ["while out of range"]


async def test_a_grown_config_sends_the_room_again(hs: Homeserver) -> None:
    """ "if the `timeline_limit` has increased [...] the server SHOULD send down the latest `N`
    events"; "The server should return rooms that have expanded timelines immediately\""""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    for body in ("a", "b", "c"):
        await alice.send_text(room_id, body)
    client = SlidingClient(alice)
    await client.sync({"lists": {"all": all_rooms(limit=1)}})
    response = await client.sync({"lists": {"all": all_rooms(limit=3)}})
    timeline = response["rooms"][room_id]["timeline"]
    assert [e["content"]["body"] for e in timeline] == ["a", "b", "c"]


async def test_subscriptions_add_rooms_and_ignore_unknown_ones(hs: Homeserver) -> None:
    """ "Rooms that a user subscribes to that they do not have permission to see, or that does
    not exist, should be ignored by the server.\""""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    mine = await alice.create_room()
    bobs = await bob.create_room()
    config = {"timeline_limit": 20, "required_state": [["*", "*"]]}
    response = await SlidingClient(alice).sync(
        {"room_subscriptions": {mine: config, bobs: config, "!nowhere:test.bastion": config}}
    )
    assert list(response["rooms"]) == [mine]
    assert response["lists"] == {}


async def test_is_invite_is_dm_and_is_encrypted(hs: Homeserver) -> None:
    """`is_invite` (`is_invited` in the merged text), `is_dm` (the `m.direct` account data),
    `is_encrypted` (an `m.room.encryption` state event)."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    invited = await bob.create_room(invite=[alice.user_id])
    direct = await alice.create_room()
    encrypted = await alice.create_room(
        initial_state=[
            {"type": "m.room.encryption", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}
        ]
    )
    resp = await alice.put(
        f"/user/{alice.user_id}/account_data/m.direct", json={bob.user_id: [direct]}
    )
    assert resp.status_code == 200
    assert await _lists(alice, is_invite=True) == [invited]
    assert set(await _lists(alice, is_invite=False)) == {direct, encrypted}
    assert await _lists(alice, is_dm=True) == [direct]
    assert set(await _lists(alice, is_dm=False)) == {invited, encrypted}
    assert await _lists(alice, is_encrypted=True) == [encrypted]
    assert encrypted not in await _lists(alice, is_encrypted=False)
    merged = await SlidingClient(alice, merged=True).sync(
        {"lists": {"i": {"range": [0, 9], "timeline_limit": 0, "filters": {"is_invited": True}}}}
    )
    assert merged["lists"]["i"]["count"] == 1


async def test_room_types_and_spaces(hs: Homeserver) -> None:
    """`room_types` / `not_room_types` (null: rooms with no type; `not_room_types` wins) and
    `spaces`: "Only rooms directly mentioned as `m.space.child` events in these spaces will be
    returned.\""""
    alice = await hs.register_user("alice")
    space = await alice.create_room(creation_content={"type": "m.space"})
    child = await alice.create_room()
    stray = await alice.create_room()
    removed = await alice.create_room()
    for room_id, via in ((child, ["test.bastion"]), (removed, [])):
        resp = await alice.put(f"/rooms/{space}/state/m.space.child/{room_id}", json={"via": via})
        assert resp.status_code == 200
    assert await _lists(alice, room_types=["m.space"]) == [space]
    assert set(await _lists(alice, room_types=[None])) == {child, stray, removed}
    assert await _lists(alice, room_types=["m.space"], not_room_types=["m.space"]) == []
    assert space not in await _lists(alice, not_room_types=["m.space"])
    assert await _lists(alice, spaces=[space]) == [child]
    assert await _lists(alice, spaces=["!unknown:test.bastion"]) == []


@pytest.mark.parametrize("forget", [False, True])
async def test_a_left_room_appears_once_and_a_forgotten_one_never(
    hs: Homeserver, forget: bool
) -> None:
    """Rooms left since the previous response appear once, so the client learns of it;
    forgotten rooms are never listed."""
    alice = await hs.register_user("alice")
    stays = await alice.create_room()
    leaves = await alice.create_room()
    client = SlidingClient(alice)
    await client.sync({"lists": {"all": all_rooms()}})
    assert (await alice.post(f"/rooms/{leaves}/leave", json={})).status_code == 200
    if forget:
        assert (await alice.post(f"/rooms/{leaves}/forget", json={})).status_code == 200
    response = await client.sync({"lists": {"all": all_rooms()}})
    if forget:
        assert client.held["all"] == [stays]
    else:
        assert leaves in client.held["all"]
        assert leaves in response["rooms"]
    await client.sync({"lists": {"all": all_rooms()}})
    assert client.held["all"] == [stays]
    assert await _lists(alice) == [stays]


async def test_an_invite_from_an_ignored_user_is_not_listed(hs: Homeserver) -> None:
    """Like /sync: an invite from someone the user ignores is not shown (not in the list, its
    count, nor the rooms)."""
    alice = await hs.register_user("alice")
    mallory = await hs.register_user("mallory")
    mine = await alice.create_room()
    resp = await alice.put(
        f"/user/{alice.user_id}/account_data/m.ignored_user_list",
        json={"ignored_users": {mallory.user_id: {}}},
    )
    assert resp.status_code == 200
    await mallory.create_room(invite=[alice.user_id])
    response = await SlidingClient(alice).sync({"lists": {"all": all_rooms()}})
    assert room_ids(response) == [mine]
    assert response["lists"]["all"]["count"] == 1
    assert list(response["rooms"]) == [mine]


async def test_a_quiet_request_costs_the_same_whatever_the_number_of_rooms(
    hs: Homeserver,
) -> None:
    """ "Sync time should be independent of the number of rooms you are in.": a request with
    nothing new reads a fixed number of queries, not one per room."""
    alice = await hs.register_user("alice")
    db = hs.runtime.db
    client = SlidingClient(alice)
    body = {"lists": {"all": all_rooms(0, 999, filters={"is_dm": False, "is_encrypted": False})}}
    costs = []
    for rooms in (3, 30):
        while len(room_ids(await client.sync(body))) < rooms:
            await alice.create_room()
        before = db.query_count
        assert (await client.sync(body))["rooms"] == {}
        costs.append(db.query_count - before)
    assert costs[0] == costs[1] <= 12, costs
