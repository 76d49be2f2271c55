"""What building the room of a woken request costs: the timeline of a room sent before is read
through the read door's shared window (services/recent_events.py), so the connections one
message wakes read it once between them, and every rule of the door still applies to each."""

from __future__ import annotations

from typing import Any

from tests.api.sliding_sync.sliding_client import SlidingClient, all_rooms
from tests.conftest import Homeserver, UserClient

BODY = {"lists": {"all": all_rooms(0, 9)}}


async def _woken(hs: Homeserver, client: SlidingClient) -> tuple[dict[str, Any], int]:
    """The next response of `client`'s loop, and the statements it took."""
    before = hs.runtime.db.query_count
    body = await client.sync(BODY)
    return body, hs.runtime.db.query_count - before


def _timeline_ids(body: dict[str, Any], room_id: str) -> list[str]:
    room = body.get("rooms", {}).get(room_id, {})
    return [event["event_id"] for event in room.get("timeline", [])]


async def _woken_together(
    hs: Homeserver, clients: list[SlidingClient], sender: UserClient, room_id: str, text: str
) -> tuple[str, list[tuple[dict[str, Any], int]]]:
    """`sender` sends `text`, then each client's next response (as when the message wakes
    their long polls: one after the other, at the same stream position)."""
    event_id = await sender.send_text(room_id, text)
    return event_id, [await _woken(hs, client) for client in clients]


async def _room_of_three(hs: Homeserver) -> tuple[str, list[UserClient]]:
    alice, bob, carol = [await hs.register_user(name) for name in ("alice", "bob", "carol")]
    room_id = await carol.create_room(preset="public_chat")
    await alice.join(room_id)
    await bob.join(room_id)
    return room_id, [alice, bob, carol]


async def test_connections_woken_by_one_message_read_its_room_once(hs: Homeserver) -> None:
    """MSC4186 "Changes to timeline_limit": "Normally the timeline events returned are only the
    events that have been received since the last time the room was sent to the client (i.e.
    only new events)." Two users' connections that last had the room sent at the same position
    ask for the same new events when one message wakes them (they were woken together by the
    room's previous message): the second takes them from the first one's read (one statement
    fewer), and both get the message."""
    room_id, (alice, bob, carol) = await _room_of_three(hs)
    clients = [SlidingClient(alice), SlidingClient(bob)]
    for client in clients:
        assert room_id in (await client.sync(BODY))["rooms"]
    # The first message: both now had the room sent at the same position (where it woke them).
    await _woken_together(hs, clients, carol, room_id, "first")
    event_id, [(first, first_cost), (second, second_cost)] = await _woken_together(
        hs, clients, carol, room_id, "news"
    )
    assert _timeline_ids(first, room_id) == [event_id]
    assert _timeline_ids(second, room_id) == [event_id]
    assert second_cost == first_cost - 1, (first_cost, second_cost)


async def test_a_shared_read_still_hides_what_the_reader_ignores(hs: Homeserver) -> None:
    """Spec (Ignoring Users): "Once ignored, the client will no longer receive events sent by
    the user". Sharing the read of a woken room's new events with another connection does not
    share what it may see: the one ignoring the sender gets nothing of them, though its
    request takes them from the other's read."""
    room_id, (alice, bob, carol) = await _room_of_three(hs)
    ignore: dict[str, Any] = {"ignored_users": {carol.user_id: {}}}
    resp = await bob.put(f"/user/{bob.user_id}/account_data/m.ignored_user_list", json=ignore)
    assert resp.status_code == 200, resp.text
    clients = [SlidingClient(alice), SlidingClient(bob)]
    for client in clients:
        await client.sync(BODY)
    await _woken_together(hs, clients, alice, room_id, "first")
    event_id, [(first, first_cost), (second, second_cost)] = await _woken_together(
        hs, clients, carol, room_id, "hidden from bob"
    )
    assert _timeline_ids(first, room_id) == [event_id]
    assert event_id not in _timeline_ids(second, room_id)
    assert second_cost == first_cost - 1, (first_cost, second_cost)
