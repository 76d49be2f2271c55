"""GET /sync: initial and incremental, filters, limited timelines, state, account data."""

from __future__ import annotations

import asyncio

import msgspec

from bastion.events.filters import FilterDefinition, RoomEventFilter, RoomFilter
from tests.api.rooms_helpers import bodies, state_types, timeline
from tests.conftest import Homeserver, UserClient, errcode


async def test_initial_then_incremental(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(name="Ward 7", invite=[bob.user_id])
    initial = await bob.sync()
    invite_state = initial["rooms"]["invite"][room_id]["invite_state"]["events"]
    assert {(e["type"], e["state_key"]) for e in invite_state} >= {
        ("m.room.create", ""),
        ("m.room.name", ""),
        ("m.room.member", bob.user_id),
    }
    await bob.join(room_id)
    joined = await bob.sync(since=initial["next_batch"])
    assert room_id in joined["rooms"]["join"]
    assert ("m.room.name", "") in state_types(joined, room_id) | {
        (e["type"], e.get("state_key")) for e in timeline(joined, room_id)
    }
    await alice.send_text(room_id, "hello bob")
    nxt = await bob.sync(since=joined["next_batch"])
    assert bodies(timeline(nxt, room_id)) == ["hello bob"]
    assert nxt["rooms"]["join"][room_id]["timeline"]["limited"] is False
    assert nxt["rooms"]["join"][room_id]["state"]["events"] == []
    # The summary comes when membership may have changed (bob's join), not with every message.
    assert joined["rooms"]["join"][room_id]["summary"]["m.joined_member_count"] == 2
    assert nxt["rooms"]["join"][room_id]["summary"] == {}
    quiet = await bob.sync(since=nxt["next_batch"])
    assert quiet["rooms"]["join"] == {}
    assert quiet["next_batch"] == nxt["next_batch"]


async def test_limited_timeline_carries_state_and_prev_batch(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(name="Old name")
    token = (await alice.sync())["next_batch"]
    await alice.put(f"/rooms/{room_id}/state/m.room.name", json={"name": "New name"})
    for i in range(12):
        await alice.send_text(room_id, f"m{i}")
    sync = await alice.sync(since=token, filter='{"room": {"timeline": {"limit": 5}}}')
    room = sync["rooms"]["join"][room_id]
    assert room["timeline"]["limited"] is True
    assert bodies(room["timeline"]["events"]) == [f"m{i}" for i in range(7, 12)]
    names = [e["content"]["name"] for e in room["state"]["events"] if e["type"] == "m.room.name"]
    assert names == ["New name"]
    page = (
        await alice.get(
            f"/rooms/{room_id}/messages",
            params={"from": room["timeline"]["prev_batch"], "limit": 3},
        )
    ).json()
    assert bodies(page["chunk"]) == ["m6", "m5", "m4"]
    # Initial sync: the state is the state at the start of the timeline, not after it.
    initial = await alice.sync(filter='{"room": {"timeline": {"limit": 13}}}')
    first = initial["rooms"]["join"][room_id]
    state_names = [
        e["content"]["name"] for e in first["state"]["events"] if e["type"] == "m.room.name"
    ]
    assert state_names == ["Old name"]
    assert "New name" in str(first["timeline"]["events"])


async def test_filters(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room()
    other = await alice.create_room()
    definition = {
        "room": {"rooms": [room_id], "timeline": {"limit": 2, "types": ["m.room.message"]}}
    }
    resp = await alice.post(f"/user/{alice.user_id}/filter", json=definition)
    filter_id = resp.json()["filter_id"]
    stored = (await alice.get(f"/user/{alice.user_id}/filter/{filter_id}")).json()
    assert stored["room"]["timeline"]["limit"] == 2
    for body in ("a", "b", "c"):
        await alice.send_text(room_id, body)
    sync = await alice.sync(filter=filter_id)
    assert set(sync["rooms"]["join"]) == {room_id}
    assert other not in sync["rooms"]["join"]
    assert bodies(timeline(sync, room_id)) == ["b", "c"]
    assert errcode(await bob.get(f"/user/{alice.user_id}/filter/{filter_id}")) == (
        403,
        "M_FORBIDDEN",
    )
    assert errcode(await bob.post(f"/user/{alice.user_id}/filter", json={})) == (403, "M_FORBIDDEN")
    assert errcode(await alice.get(f"/user/{alice.user_id}/filter/nope")) == (404, "M_NOT_FOUND")
    assert errcode(await alice.post(f"/user/{alice.user_id}/filter", json={"room": []})) == (
        400,
        "M_BAD_JSON",
    )
    for params, expected in (
        ({"filter": "{not json"}, (400, "M_NOT_JSON")),
        ({"filter": '{"room": {"timeline": {"limit": "x"}}}'}, (400, "M_BAD_JSON")),
        ({"filter": "unknown-filter-id"}, (400, "M_INVALID_PARAM")),
        ({"since": "garbage"}, (400, "M_INVALID_PARAM")),
        ({"timeout": "soon"}, (400, "M_INVALID_PARAM")),
        ({"set_presence": "busy"}, (400, "M_INVALID_PARAM")),
        ({"full_state": "yes"}, (400, "M_INVALID_PARAM")),
    ):
        assert errcode(await alice.get("/sync", params=params)) == expected, params


async def test_stored_filter_comes_back_as_uploaded(hs: Homeserver) -> None:
    """spec (GET /user/{userId}/filter/{filterId}): "The filter definition", i.e. the one the
    client uploaded, not a normalised copy with every default filled in."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    definition = {"room": {"timeline": {"limit": 1}}, "event_fields": ["content.body", "type"]}
    resp = await alice.post(f"/user/{alice.user_id}/filter", json=definition)
    assert resp.status_code == 200, resp.text
    filter_id = resp.json()["filter_id"]
    assert (await alice.get(f"/user/{alice.user_id}/filter/{filter_id}")).json() == definition
    await alice.send_text(room_id, "a")
    await alice.send_text(room_id, "b")
    assert bodies(timeline(await alice.sync(filter=filter_id), room_id)) == ["b"]

    # A row stored in the older, normalised form still serves both uses.
    old = FilterDefinition(room=RoomFilter(timeline=RoomEventFilter(limit=1)))
    normalised = msgspec.to_builtins(old)
    assert normalised["room"]["timeline"]["types"] is None  # every field, nulls included
    await hs.runtime.db.execute(
        "INSERT INTO filters (user_id, filter_id, definition) VALUES (?, ?, ?)",
        alice.user_id,
        "oldrow",
        msgspec.json.encode(normalised).decode(),
    )
    assert (await alice.get(f"/user/{alice.user_id}/filter/oldrow")).json() == normalised
    assert bodies(timeline(await alice.sync(filter="oldrow"), room_id)) == ["b"]


async def test_lazy_loaded_members(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(preset="public_chat")
    others = [await hs.register_user(f"user{i}") for i in range(4)]
    for other in others:
        await other.join(room_id)
    await others[2].send_text(room_id, "only I speak")
    lazy = '{"room": {"timeline": {"limit": 1}, "state": {"lazy_load_members": true}}}'
    sync = await alice.sync(filter=lazy)
    members = {k for t, k in state_types(sync, room_id) if t == "m.room.member"}
    assert members == {others[2].user_id, alice.user_id}
    eager = await alice.sync(filter='{"room": {"timeline": {"limit": 1}}}')
    assert len({k for t, k in state_types(eager, room_id) if t == "m.room.member"}) == 5


async def test_account_data(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room()
    token = (await alice.sync())["next_batch"]
    direct = {bob.user_id: [room_id]}
    assert (
        await alice.put(f"/user/{alice.user_id}/account_data/m.direct", json=direct)
    ).status_code == 200
    path = f"/user/{alice.user_id}/rooms/{room_id}/account_data/org.example.note"
    assert (await alice.put(path, json={"text": "call family"})).status_code == 200
    assert (await alice.get(f"/user/{alice.user_id}/account_data/m.direct")).json() == direct
    sync = await alice.sync(since=token)
    assert sync["account_data"]["events"] == [{"type": "m.direct", "content": direct}]
    room_data = sync["rooms"]["join"][room_id]["account_data"]["events"]
    assert room_data == [{"type": "org.example.note", "content": {"text": "call family"}}]
    assert errcode(await bob.get(f"/user/{alice.user_id}/account_data/m.direct")) == (
        403,
        "M_FORBIDDEN",
    )
    assert errcode(await bob.put(f"/user/{alice.user_id}/account_data/x", json={})) == (
        403,
        "M_FORBIDDEN",
    )
    assert errcode(await alice.get(f"/user/{alice.user_id}/account_data/unset")) == (
        404,
        "M_NOT_FOUND",
    )
    resp = await alice.put(f"/user/{alice.user_id}/account_data/m.fully_read", json={})
    assert errcode(resp) == (405, "M_BAD_JSON")
    assert (await bob.sync(since=token))["account_data"]["events"] == []


async def test_full_state(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    token = (await alice.sync())["next_batch"]
    await alice.send_text(room_id, "x")
    sync = await alice.sync(since=token, full_state="true")
    assert ("m.room.create", "") in state_types(sync, room_id)


async def test_long_poll_wakes_on_send_and_only_for_members(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    bob_token = (await bob.sync())["next_batch"]
    carol_token = (await carol.sync())["next_batch"]
    waiting_bob = asyncio.create_task(bob.sync(since=bob_token, timeout=30000))
    waiting_carol = asyncio.create_task(carol.sync(since=carol_token, timeout=30000))
    await hs.wait_for_waiting_syncs(2)
    await alice.send_text(room_id, "wake up")
    woken = await asyncio.wait_for(waiting_bob, timeout=10)
    assert bodies(timeline(woken, room_id)) == ["wake up"]
    assert not waiting_carol.done()  # carol is not in the room: not woken
    waiting_carol.cancel()


async def test_incremental_sync_query_budget_does_not_grow_with_rooms(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    first = await alice.create_room(preset="public_chat")
    await bob.join(first)
    elsewhere = [await carol.create_room() for _ in range(25)]  # rooms bob is not in

    async def type_in(user: UserClient, room_id: str) -> None:
        resp = await user.put(f"/rooms/{room_id}/typing/{user.user_id}", json={"typing": True})
        assert resp.status_code == 200

    async def queries_for_one_message(typing_in: list[str]) -> int:
        token = (await bob.sync())["next_batch"]
        await alice.send_text(first, "ping")
        for room_id in typing_in:
            await type_in(alice if room_id in bobs_rooms else carol, room_id)
        before = hs.runtime.db.query_count
        sync = await bob.sync(since=token)
        assert bodies(timeline(sync, first)) == ["ping"]
        typing_shown = {
            room_id
            for room_id, room in sync["rooms"]["join"].items()
            if any(e["type"] == "m.typing" for e in room["ephemeral"]["events"])
        }
        assert typing_shown == set(typing_in) & bobs_rooms  # narrowed to bob's rooms
        return hs.runtime.db.query_count - before

    bobs_rooms = {first}
    few_rooms = await queries_for_one_message([])
    typing_elsewhere = await queries_for_one_message(elsewhere[:1])
    for _ in range(25):
        room = await alice.create_room(preset="public_chat")
        await bob.join(room)
        bobs_rooms.add(room)
    many_rooms = await queries_for_one_message([])
    quiet_rooms_typing = sorted(bobs_rooms - {first})[:5]
    typing_everywhere = await queries_for_one_message(elsewhere + quiet_rooms_typing)
    # token; the probe (active rooms and their unread counts, key counts, which other streams
    # hold anything: none here); the active rooms' events (see test_sync_round_trips.py)
    assert few_rooms <= 3, few_rooms
    assert many_rooms == few_rooms
    # Typing changes are narrowed to bob's joined rooms in one lookup, whatever the number of
    # rooms with typing on the server, and quiet rooms with typing cost no query of their own:
    # their unread counts (the probe reads only the active rooms') are one query for them all.
    assert typing_elsewhere <= few_rooms + 1, typing_elsewhere
    assert typing_everywhere <= typing_elsewhere + 1, typing_everywhere
