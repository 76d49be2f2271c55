"""Which rooms a list holds (MSC4186 "Lists": kicks, bans, leaves; `tags` / `not_tags`), the
merged dialect's `required_state.exclude`, and the cap on a device's connections."""

from __future__ import annotations

from typing import Any

from tests.conftest import Homeserver, UserClient, errcode

from .sliding_client import SlidingClient, all_rooms, room_ids


async def _kick(admin: UserClient, room_id: str, user_id: str, action: str = "kick") -> None:
    resp = await admin.post(f"/rooms/{room_id}/{action}", json={"user_id": user_id})
    assert resp.status_code == 200, resp.text


async def test_kicked_and_banned_rooms_stay_listed_left_ones_appear_once(hs: Homeserver) -> None:
    """ "Rooms the user has been kicked or banned from will always be included in the server
    list. We do not include rooms the user has left themselves"; "rooms the user has been banned
    from, but never joined, should not be part of the list"."""
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    kicked, banned, left, banned_unjoined = [
        await alice.create_room(preset="public_chat", name=name)
        for name in ("kicked", "banned", "left", "never joined")
    ]
    for room_id in (kicked, banned, left):
        await bob.join(room_id)
    client = SlidingClient(bob)
    body = {"lists": {"all": all_rooms()}}
    await client.sync(body)
    await _kick(alice, kicked, bob.user_id)
    await _kick(alice, banned, bob.user_id, "ban")
    await _kick(alice, banned_unjoined, bob.user_id, "ban")
    resp = await bob.post(f"/rooms/{left}/leave", json={})
    assert resp.status_code == 200, resp.text
    once = await client.sync(body)
    assert once["lists"]["all"]["count"] == 3
    assert set(once["rooms"]) == {kicked, banned, left}
    assert once["rooms"][kicked]["membership"] == "leave"
    assert once["rooms"][banned]["membership"] == "ban"
    later = await client.sync(body)
    assert set(room_ids(later)) == {kicked, banned}  # the list changed: ops sent again
    assert later["lists"]["all"]["count"] == 2
    fresh = await SlidingClient(bob, conn_id="other").sync(body)
    assert set(room_ids(fresh)) == {kicked, banned}
    assert set(fresh["rooms"]) == {kicked, banned}


async def _tag(user: UserClient, room_id: str, tag: str) -> None:
    resp = await user.put(f"/user/{user.user_id}/rooms/{room_id}/tags/{tag}", json={"order": 0.5})
    assert resp.status_code == 200, resp.text


async def test_tags_and_not_tags_filter_on_room_tags(hs: Homeserver) -> None:
    """`tags`: "If multiple tags are present, a room can have any one of the listed tags (OR'd)";
    `not_tags`: "Takes priority over `tags`. For example, a room with tags A and B with filters
    `tags: [A]` `not_tags: [B]` would NOT be included"."""
    alice = await hs.register_user("alice")
    fav, low, both, plain = [await alice.create_room(name=n) for n in ("f", "l", "b", "p")]
    await _tag(alice, fav, "m.favourite")
    await _tag(alice, low, "m.lowpriority")
    await _tag(alice, both, "m.favourite")
    await _tag(alice, both, "m.lowpriority")

    def wanted(**filters: Any) -> dict[str, Any]:
        return all_rooms(0, 99, filters=filters)

    body = {
        "lists": {
            "favourites": wanted(tags=["m.favourite"]),
            "either": wanted(tags=["m.favourite", "m.lowpriority"]),
            "fav_not_low": wanted(tags=["m.favourite"], not_tags=["m.lowpriority"]),
            "not_fav": wanted(not_tags=["m.favourite"]),
        }
    }
    response = await SlidingClient(alice).sync(body)
    assert set(room_ids(response, "favourites")) == {fav, both}
    assert set(room_ids(response, "either")) == {fav, low, both}
    assert set(room_ids(response, "fav_not_low")) == {fav}
    assert set(room_ids(response, "not_fav")) == {low, plain}
    assert response["lists"]["not_fav"]["count"] == 2


async def test_required_state_exclude_filters_out_matched_state(hs: Homeserver) -> None:
    """`exclude`: "The set of state to filter out before returning, if any."; "An example that
    returns all the state except the create event"; "Memberships returned to the client due to
    `lazy_members` are *not* filtered by `exclude`"."""
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat", name="Ward", topic="beds")
    await bob.join(room_id)
    await bob.send_text(room_id, "hi")
    required = {
        "include": [{}],
        "exclude": [{"type": "m.room.create", "state_key": ""}, {"type": "m.room.member"}],
        "lazy_members": True,
    }
    body = {"lists": {"all": {"range": [0, 9], "timeline_limit": 1, "required_state": required}}}
    client = SlidingClient(alice, merged=True)
    room = (await client.sync(body))["rooms"][room_id]
    sent = {(e["type"], e["state_key"]) for e in room["required_state"]}
    assert ("m.room.create", "") not in sent
    assert ("m.room.name", "") in sent
    assert ("m.room.topic", "") in sent
    assert ("m.room.member", alice.user_id) not in sent  # excluded; not a timeline sender
    assert ("m.room.member", bob.user_id) in sent  # a lazy member: not filtered by exclude
    # Dropping the exclusion sends the room again with what was left out.
    required["exclude"] = []
    again = (await client.sync(body))["rooms"][room_id]
    assert ("m.room.create", "") in {(e["type"], e["state_key"]) for e in again["required_state"]}


async def test_a_device_keeps_at_most_a_hundred_connections(hs: Homeserver) -> None:
    """A connection per `conn_id` is kept by the server (MSC4186 "Connections": "A server may
    decide to "expire" connections"): past 100 on one device, starting one drops the least
    recently used, whose `pos` then gets `M_UNKNOWN_POS`."""
    alice = await hs.register_user("alice")
    await alice.create_room()
    body = {"lists": {"all": all_rooms()}}
    clients = [SlidingClient(alice, conn_id=f"c{i}") for i in range(101)]
    for client in clients:
        await client.sync(body)
        hs.clock.advance(1)
    assert errcode(await clients[0].request(body, pos=clients[0].pos)) == (400, "M_UNKNOWN_POS")
    hs.clock.advance(2 * 3600)  # use is recorded at most hourly
    await clients[1].sync(body)  # used again: now the newest
    await SlidingClient(alice, conn_id="c101").sync(body)
    assert errcode(await clients[2].request(body, pos=clients[2].pos)) == (400, "M_UNKNOWN_POS")
    for client in (clients[1], clients[3], clients[100]):
        assert (await client.request(body, pos=client.pos)).status_code == 200


async def test_ops_only_when_the_rooms_in_range_changed(hs: Homeserver) -> None:
    """MSC4186's lists carry only `count` ("SyncListResult"); the pre-merge `ops` (what
    matrix-rust-sdk sent for, and no longer reads) is sent only when the rooms in range or their
    order differ from what the client was last given, never on every response."""
    alice = await hs.register_user("alice")
    older, newer = await alice.create_room(name="older"), await alice.create_room(name="newer")
    client = SlidingClient(alice)
    body = {"lists": {"all": all_rooms()}}
    assert room_ids(await client.sync(body)) == [newer, older]
    await alice.send_text(newer, "still the newest")
    same_order = await client.sync(body)
    assert same_order["lists"]["all"] == {"count": 2}
    assert list(same_order["rooms"]) == [newer]
    assert [e["content"]["body"] for e in same_order["rooms"][newer]["timeline"]] == [
        "still the newest"
    ]
    await alice.send_text(older, "now the newest")
    reordered = await client.sync(body)
    assert "ops" in reordered["lists"]["all"]  # a move (DELETE/INSERT, response.py)
    assert client.held["all"] == [older, newer]
    assert reordered["lists"]["all"]["count"] == 2
