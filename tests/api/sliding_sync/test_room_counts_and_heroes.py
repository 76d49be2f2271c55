"""Heroes as /sync's `m.heroes` (joined, then invited, then left members), unread counts that
follow the user's own read receipts, and what growing a list to every room costs."""

from __future__ import annotations

from typing import Any

from bastion.services.principal import Requester
from bastion.services.rooms.create import CreateRoomRequest
from tests.conftest import Homeserver, UserClient

from .room_harness import ROOM_LIST_STATE
from .sliding_client import SlidingClient, all_rooms, room_ids


def _summary_heroes(sync: dict[str, Any], room_id: str) -> list[str]:
    heroes: list[str] = sync["rooms"]["join"][room_id]["summary"]["m.heroes"]
    return heroes


async def test_heroes_fall_back_to_invited_then_left_members(hs: Homeserver) -> None:
    """Spec (m.heroes, which sliding sync's `heroes` equal: "the same users as the `m.heroes`
    section in /v3/sync"): "This should be the first 5 members of the room, ordered by stream
    ordering, which are joined or invited. [...] When no joined or invited members are
    available, this should consist of the banned and left users." """
    alice, bob, carol = [await hs.register_user(n) for n in ("alice", "bob", "carol")]
    invited = await alice.create_room(invite=[bob.user_id])
    departed = await alice.create_room(preset="public_chat")
    await carol.join(departed)
    resp = await carol.post(f"/rooms/{departed}/leave", json={})
    assert resp.status_code == 200, resp.text
    sync = await alice.sync()
    assert _summary_heroes(sync, invited) == [bob.user_id]
    assert _summary_heroes(sync, departed) == [carol.user_id]
    body = {"lists": {"all": all_rooms(0, 9, required_state=[["m.room.member", "$LAZY"]])}}
    rooms = (await SlidingClient(alice).sync(body))["rooms"]  # both built together
    assert [h["user_id"] for h in rooms[invited]["heroes"]] == [bob.user_id]
    assert [h["user_id"] for h in rooms[departed]["heroes"]] == [carol.user_id]
    alone = await SlidingClient(alice, conn_id="one").sync(
        {"room_subscriptions": {invited: {"timeline_limit": 1, "required_state": []}}}
    )  # one room, built on its own
    assert [h["user_id"] for h in alone["rooms"][invited]["heroes"]] == [bob.user_id]


async def _read(user: UserClient, room_id: str, event_id: str) -> None:
    resp = await user.post(f"/rooms/{room_id}/receipt/m.read/{event_id}", json={})
    assert resp.status_code == 200, resp.text


async def test_a_read_receipt_resends_the_room_with_its_new_counts(hs: Homeserver) -> None:
    """Issue 14 on unread counts: "send what /sync would, never something wrong": when the
    user's own read receipt clears a room's `notification_count`, the room is sent again with
    the counts /sync now gives."""
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat", name="Ward")
    quiet = await alice.create_room(name="Quiet")
    await bob.join(room_id)
    event_id = await bob.send_text(room_id, "are you there?")
    client = SlidingClient(alice)
    body = {"lists": {"all": all_rooms()}}
    first = (await client.sync(body))["rooms"][room_id]
    assert first["notification_count"] == 1
    await _read(alice, room_id, event_id)
    after = await client.sync(body)
    assert list(after["rooms"]) == [room_id]
    unread = (await alice.sync())["rooms"]["join"][room_id]["unread_notifications"]
    assert after["rooms"][room_id]["notification_count"] == unread["notification_count"] == 0
    assert after["rooms"][room_id]["highlight_count"] == unread["highlight_count"]
    assert "timeline" not in after["rooms"][room_id] or after["rooms"][room_id]["timeline"] == []
    assert (await client.sync(body))["rooms"] == {}  # nothing more to say
    assert quiet not in after["rooms"]


async def _rooms(hs: Homeserver, user: UserClient, count: int) -> None:
    services = hs.runtime.services
    requester = Requester(user.user_id, user.device_id, is_admin=False)
    for i in range(count):
        request = CreateRoomRequest(preset="private_chat", name=f"Ward {i:04d}")
        await services.rooms.create_room(requester, request)


async def test_growing_the_list_to_every_room_costs_the_same_whatever_the_rooms(
    hs: Homeserver,
) -> None:
    """ "Sync time should be independent of the number of rooms you are in." Element X grows
    `all_rooms` from the first screen to every room (timeline_limit 1, its required_state): the
    growth step reads the rooms it never sent together, a fixed number of queries whether it
    adds 20 rooms or 200; the first screen likewise."""
    alice = await hs.register_user("alice")
    db = hs.runtime.db
    selectors = [list(s) for s in sorted(ROOM_LIST_STATE)]
    costs: list[tuple[int, int]] = []
    for count, new in ((40, 40), (220, 180)):
        await _rooms(hs, alice, new)
        client = SlidingClient(alice, conn_id=f"list{count}")
        before = db.query_count
        first = await client.sync({"lists": {"all": all_rooms(0, 19, required_state=selectors)}})
        screen = db.query_count - before
        assert len(room_ids(first)) == 20
        before = db.query_count
        grown = await client.sync(
            {"lists": {"all": all_rooms(0, count - 1, required_state=selectors)}}
        )
        growth = db.query_count - before
        assert len(grown["rooms"]) == count - 20
        costs.append((screen, growth))
    (screen_few, growth_few), (screen_many, growth_many) = costs
    assert screen_many <= screen_few <= 30, costs  # the first pays for cold caches
    # one more state read per 200 rooms (statement size), nothing per room
    assert growth_few <= 25, costs
    assert growth_many <= growth_few + 2, costs
