"""Room results through the endpoint, in both dialects (MSC4186 "Room results"): what Element X
reads in the pre-merge shape, and the merged names."""

from __future__ import annotations

from typing import Any

from tests.api.sliding_sync.sliding_client import SlidingClient, all_rooms
from tests.api.sliding_sync.test_room_results import two_users
from tests.conftest import Homeserver

LAZY_LIST = {
    "required_state": [["m.room.name", ""], ["m.room.member", "$LAZY"], ["m.room.member", "$ME"]]
}


def bodies(room: dict[str, Any]) -> list[str]:
    return [e["content"]["body"] for e in room.get("timeline", []) if "body" in e["content"]]


async def test_room_then_only_its_news(hs: Homeserver) -> None:
    """Spec: "the `name` field will only be sent down the first sync with the room in it and
    not subsequently"; `num_live` counts what "happened since the previous sync request"."""
    alice, bob, room_id = await two_users(hs, name="Team")
    await bob.send_text(room_id, "hello")
    client = SlidingClient(alice)
    first = await client.sync({"lists": {"all": all_rooms(**LAZY_LIST)}})
    room = first["rooms"][room_id]
    assert room["initial"] is True
    assert room["name"] == "Team"
    assert bodies(room) == ["hello"]
    members = {e["state_key"] for e in room["required_state"] if e["type"] == "m.room.member"}
    assert members == {alice.user_id, bob.user_id}
    await bob.send_text(room_id, "again")
    second = await client.sync({"lists": {"all": all_rooms(**LAZY_LIST)}})
    room = second["rooms"][room_id]
    assert "initial" not in room
    assert "name" not in room
    assert bodies(room) == ["again"]
    assert room["num_live"] == 1
    assert "required_state" not in room


async def test_subscription_expands_the_timeline(hs: Homeserver) -> None:
    """Spec: a grown `timeline_limit` resends the latest events with `expanded_timeline`
    (`unstable_expanded_timeline` in the pre-merge shape), and "The server should return rooms
    that have expanded timelines immediately"."""
    alice, _, room_id = await two_users(hs)
    for body in ("one", "two", "three"):
        await alice.send_text(room_id, body)
    client = SlidingClient(alice)
    await client.sync({"lists": {"all": all_rooms(limit=1)}})
    subscribed = {"timeline_limit": 20, "required_state": [["m.room.name", ""]]}
    grown = await client.sync({
        "lists": {"all": all_rooms(limit=1)},
        "room_subscriptions": {room_id: subscribed},
    })  # fmt: skip
    room = grown["rooms"][room_id]
    assert bodies(room) == ["one", "two", "three"]
    assert room["unstable_expanded_timeline"] is True


async def test_invite_state_in_each_dialect(hs: Homeserver) -> None:
    """Spec changelog: "Rename `invite_state` to `stripped_state`": Element X reads
    `invite_state`, a merged client `stripped_state`."""
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    room_id = await alice.create_room(name="Come in")
    resp = await alice.post(f"/rooms/{room_id}/invite", json={"user_id": bob.user_id})
    assert resp.status_code == 200, resp.text
    pre_merge = await SlidingClient(bob).sync({"lists": {"all": all_rooms()}})
    names = {e["type"] for e in pre_merge["rooms"][room_id]["invite_state"]}
    assert {"m.room.name", "m.room.member"} <= names
    merged_list = {"range": [0, 19], "timeline_limit": 1, "required_state": {"include": [{}]}}
    merged = await SlidingClient(bob, conn_id="m", merged=True).sync(
        {"lists": {"all": merged_list}}
    )
    assert merged["rooms"][room_id]["stripped_state"] == pre_merge["rooms"][room_id]["invite_state"]
