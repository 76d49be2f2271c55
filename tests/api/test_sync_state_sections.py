"""/sync's `state` sections: what they carry, and for which rooms (spec: client-server-api#syncing).

The rules, in the spec's words: the state list is "the complete state of the room at the start
of the returned timeline" (initial sync) or "a delta between the state of the room at the
`since` parameter and that at the start of the returned timeline" (incremental); for a room
left, "the state updates for the room up to the start of the timeline", whose timeline runs "up
to the point when the user left". So no event is in both `state` and `timeline`, none the client
already had at `since` comes again, and none from after the response's window (`next_batch`).
"""

from __future__ import annotations

import json
from typing import Any

from tests.api.rooms_helpers import timeline
from tests.conftest import Homeserver, UserClient

MESSAGES_ONLY = json.dumps({"room": {"timeline": {"types": ["m.room.message"]}}})


def state_events(sync: dict[str, Any], room_id: str, section: str = "join") -> list[Any]:
    events: list[Any] = sync["rooms"][section][room_id]["state"]["events"]
    return events


def ids(events: list[dict[str, Any]]) -> set[str]:
    return {e["event_id"] for e in events}


async def set_topic(user: UserClient, room_id: str, topic: str) -> str:
    resp = await user.put(f"/rooms/{room_id}/state/m.room.topic", json={"topic": topic})
    assert resp.status_code == 200, resp.text
    event_id: str = resp.json()["event_id"]
    return event_id


async def test_limited_state_is_the_delta_to_the_timeline_start(hs: Homeserver) -> None:
    """spec: "the `state` list gives a delta between the state of the room at the `since`
    parameter and that at the start of the returned `timeline`": nothing the client had at
    `since`, nothing that is in the timeline."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(name="Ward 7")
    token = (await alice.sync())["next_batch"]
    in_gap = await set_topic(alice, room_id, "gap")
    for i in range(4):
        await alice.send_text(room_id, f"m{i}")
    in_timeline = await set_topic(alice, room_id, "timeline")
    sync = await alice.sync(since=token, filter='{"room": {"timeline": {"limit": 2}}}')
    room = sync["rooms"]["join"][room_id]
    assert room["timeline"]["limited"] is True
    assert in_timeline in ids(room["timeline"]["events"])
    assert ids(room["state"]["events"]) == {in_gap}  # not the name nor members alice had


async def test_state_left_out_of_the_timeline_by_a_filter_is_in_state(hs: Homeserver) -> None:
    """spec: the state list "represents the complete state of the room at the start of the
    returned timeline"; a state change the filter keeps out of the returned timeline lies
    before its start, so it belongs in `state`, initial or incremental."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(name="Ward 7")
    await alice.send_text(room_id, "first")
    initial = await alice.sync(filter=MESSAGES_ONLY)
    names = [e for e in state_events(initial, room_id) if e["type"] == "m.room.name"]
    assert [e["content"]["name"] for e in names] == ["Ward 7"]

    topic = await set_topic(alice, room_id, "renamed while filtered")
    await alice.send_text(room_id, "second")
    nxt = await alice.sync(since=initial["next_batch"], filter=MESSAGES_ONLY)
    assert [e["content"]["body"] for e in timeline(nxt, room_id)] == ["second"]
    assert ids(state_events(nxt, room_id)) == {topic}


async def test_left_room_state_stops_at_the_leave(hs: Homeserver) -> None:
    """spec: a left room's `state` holds "the state updates for the room up to the start of the
    timeline", and its timeline runs "up to the point when the user left": state set after the
    leave is in neither, in an incremental sync or in an initial one with `include_leave`."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    token = (await bob.sync())["next_batch"]
    assert (await bob.post(f"/rooms/{room_id}/leave", json={})).status_code == 200
    after_leave = await set_topic(alice, room_id, "said after bob left")

    nxt = await bob.sync(since=token)
    left = nxt["rooms"]["leave"][room_id]
    assert after_leave not in ids(left["state"]["events"]) | ids(left["timeline"]["events"])
    assert left["state"]["events"] == []  # nothing changed between the token and the leave

    include_leave = json.dumps({"room": {"include_leave": True}})
    initial = await bob.sync(filter=include_leave)
    left = initial["rooms"]["leave"][room_id]
    assert after_leave not in ids(left["state"]["events"]) | ids(left["timeline"]["events"])
    assert ("m.room.topic", "") not in {
        (e["type"], e["state_key"]) for e in left["state"]["events"]
    }


async def test_state_committed_after_the_window_waits_for_the_next_sync(hs: Homeserver) -> None:
    """spec: state runs "up to the **start** of the timeline", and the next sync carries what
    came after: a state event that commits while a sync is built (after its `next_batch`) is
    not in that sync's `state`, and reaches the client once, in the next timeline."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    token = (await bob.sync())["next_batch"]
    for i in range(3):
        await alice.send_text(room_id, f"m{i}")
    with hs.runtime.positions.allocate():  # an earlier write still in flight
        late = await set_topic(alice, room_id, "committed late")
        first = await bob.sync(since=token, filter='{"room": {"timeline": {"limit": 2}}}')
    room = first["rooms"]["join"][room_id]
    assert room["timeline"]["limited"] is True
    assert late not in ids(room["state"]["events"]) | ids(room["timeline"]["events"])
    second = await bob.sync(since=first["next_batch"])
    assert late in ids(timeline(second, room_id))
    assert late not in ids(state_events(second, room_id))


async def test_a_room_is_not_joined_before_the_join_is_in_the_window(hs: Homeserver) -> None:
    """spec: `rooms.join` holds "the rooms that the user has joined"; a join that commits after
    the response's window (`next_batch`) shows in the next sync, with the room's state then,
    not as a joined room whose state already holds a membership the timeline never reached."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    token = (await bob.sync())["next_batch"]
    await alice.send_text(room_id, "before bob")
    with hs.runtime.positions.allocate():
        await bob.join(room_id)
        early = await bob.sync(since=token)
        initial = await bob.sync()
    assert room_id not in early["rooms"]["join"]
    assert room_id not in initial["rooms"]["join"]
    joined = await bob.sync(since=early["next_batch"])
    room = joined["rooms"]["join"][room_id]
    members = [
        e
        for e in room["state"]["events"] + room["timeline"]["events"]
        if e["type"] == "m.room.member" and e["state_key"] == bob.user_id
    ]
    assert [e["content"]["membership"] for e in members] == ["join"]


async def test_a_new_member_event_of_a_joined_user_is_not_a_new_join(hs: Homeserver) -> None:
    """spec: in an incremental sync the state list "gives a delta between the state of the room
    at the `since` parameter and that at the start of the returned `timeline`. (It will
    therefore be empty unless the timeline was `limited`.)": a joined user changing their
    room display name is still joined, so the room's whole state does not come again."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(name="Ward 7")
    await alice.send_text(room_id, "hello")
    token = (await alice.sync())["next_batch"]
    resp = await alice.put(
        f"/rooms/{room_id}/state/m.room.member/{alice.user_id}",
        json={"membership": "join", "displayname": "Dr Alice"},
    )
    assert resp.status_code == 200, resp.text
    nxt = await alice.sync(since=token)
    room = nxt["rooms"]["join"][room_id]
    assert room["timeline"]["limited"] is False
    assert ids(room["timeline"]["events"]) == {resp.json()["event_id"]}
    assert room["state"]["events"] == []


async def test_a_member_event_after_the_window_loses_no_message(hs: Homeserver) -> None:
    """spec: the timeline holds the room's events between `since` and `next_batch`, and the next
    sync starts at `next_batch`: a message in the window must reach the client even when the
    viewer's own member event (a display name change, sent to every room) commits after the
    window while the sync is built, in incremental and initial syncs alike."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat", name="Ward 7")
    await bob.join(room_id)
    token = (await bob.sync())["next_batch"]
    message = await alice.send_text(room_id, "in the window")
    with hs.runtime.positions.allocate():  # an earlier write still in flight: upto stays here
        resp = await bob.put("/profile/" + bob.user_id + "/displayname", json={"displayname": "B"})
        assert resp.status_code == 200
        incremental = await bob.sync(since=token)
        initial = await bob.sync()
    assert message in ids(timeline(incremental, room_id))
    assert room_id in initial["rooms"]["join"]
    known = state_events(initial, room_id) + timeline(initial, room_id)
    assert {"m.room.create", "m.room.name"} <= {e["type"] for e in known}
    assert message in ids(known)
    after = await bob.sync(since=incremental["next_batch"])
    renamed = [e for e in timeline(after, room_id) if e["type"] == "m.room.member"]
    assert [e["content"].get("displayname") for e in renamed] == ["B"]
    assert message not in ids(timeline(after, room_id))
