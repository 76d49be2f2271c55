"""Room previews (spec: client-server-api#room-previews): `GET /rooms/{roomId}/initialSync` and
`GET /events?room_id=`.

"A client wishing to view a room without joining it should call GET /rooms/:room_id/initialSync,
followed by GET /events." "For clients which have not joined a room, servers are required to
only return events where the room state at the event had the m.room.history_visibility state
event present with history_visibility value world_readable." initialSync: "403: You aren't a
member of the room and weren't previously a member of the room"; for a former member, "the
messages that preceded them leaving" and "the state of the room when they left it".
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.rooms_helpers import bodies
from tests.conftest import Homeserver, UserClient, errcode


async def readable_room(hs: Homeserver, visibility: str = "world_readable") -> tuple[
    UserClient, UserClient, str
]:  # fmt: skip
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(
        preset="public_chat",
        name="Lobby",
        initial_state=[
            {"type": "m.room.history_visibility", "content": {"history_visibility": visibility}}
        ],
    )
    return alice, bob, room_id


async def peek(client: UserClient, room_id: str, **params: str) -> dict[str, Any]:
    resp = await client.get("/events", params={"room_id": room_id, **params})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def test_a_lurker_gets_the_snapshot_of_a_world_readable_room(hs: Homeserver) -> None:
    alice, bob, room_id = await readable_room(hs)
    for text in ("one", "two", "three"):
        await alice.send_text(room_id, text)
    resp = await bob.get(f"/rooms/{room_id}/initialSync", params={"limit": "2"})
    assert resp.status_code == 200, resp.text
    snapshot = resp.json()
    assert snapshot["room_id"] == room_id
    assert "membership" not in snapshot  # never a member: no membership to report
    assert snapshot["visibility"] == "private"  # not published in the room directory
    assert snapshot["account_data"] == []
    assert bodies(snapshot["messages"]["chunk"]) == ["two", "three"]  # oldest first
    state = {(e["type"], e["state_key"]): e for e in snapshot["state"]}
    assert state[("m.room.name", "")]["content"] == {"name": "Lobby"}
    assert (
        state[("m.room.history_visibility", "")]["content"]["history_visibility"]
        == "world_readable"
    )
    assert state[("m.room.member", alice.user_id)]["content"]["membership"] == "join"
    # `start` leads back through /messages to what came before the chunk.
    earlier = await bob.get(
        f"/rooms/{room_id}/messages",
        params={"dir": "b", "from": snapshot["messages"]["start"], "limit": "1"},
    )
    assert bodies(earlier.json()["chunk"]) == ["one"]


async def test_a_published_room_says_so(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(preset="public_chat", visibility="public")
    snapshot = (await alice.get(f"/rooms/{room_id}/initialSync")).json()
    assert snapshot["visibility"] == "public"
    assert snapshot["membership"] == "join"


async def test_a_member_gets_their_room_account_data(hs: Homeserver) -> None:
    alice, _bob, room_id = await readable_room(hs, "shared")
    tag = await alice.put(f"/user/{alice.user_id}/rooms/{room_id}/tags/u.work", json={"order": 0.5})
    assert tag.status_code == 200
    await alice.put(
        f"/user/{alice.user_id}/rooms/{room_id}/account_data/org.example.note", json={"n": 1}
    )
    snapshot = (await alice.get(f"/rooms/{room_id}/initialSync")).json()
    data = {entry["type"]: entry["content"] for entry in snapshot["account_data"]}
    assert data["m.tag"] == {"tags": {"u.work": {"order": 0.5}}}
    assert data["org.example.note"] == {"n": 1}


async def test_a_room_that_is_not_world_readable_is_refused_to_a_lurker(hs: Homeserver) -> None:
    alice, bob, room_id = await readable_room(hs, "shared")
    await alice.send_text(room_id, "members only")
    assert errcode(await bob.get(f"/rooms/{room_id}/initialSync")) == (403, "M_FORBIDDEN")
    # At once, not after the poll's timeout.
    refused = await asyncio.wait_for(
        bob.get("/events", params={"room_id": room_id, "timeout": "30000"}), 5
    )
    assert errcode(refused) == (403, "M_FORBIDDEN")


async def test_an_unknown_room_is_refused_like_a_private_one(hs: Homeserver) -> None:
    bob = await hs.register_user("bob")
    missing = f"!nothing:{hs.server_name}"
    assert errcode(await bob.get(f"/rooms/{missing}/initialSync")) == (403, "M_FORBIDDEN")
    assert errcode(await bob.get("/events", params={"room_id": missing})) == (403, "M_FORBIDDEN")


async def test_a_former_member_sees_the_room_as_they_left_it(hs: Homeserver) -> None:
    alice, bob, room_id = await readable_room(hs, "shared")
    await bob.join(room_id)
    await alice.send_text(room_id, "while bob is here")
    await bob.post(f"/rooms/{room_id}/leave", json={})
    await alice.send_text(room_id, "after bob left")
    await alice.put(f"/rooms/{room_id}/state/m.room.name", json={"name": "Renamed"})
    snapshot = (await bob.get(f"/rooms/{room_id}/initialSync", params={"limit": "50"})).json()
    assert snapshot["membership"] == "leave"
    assert "while bob is here" in bodies(snapshot["messages"]["chunk"])
    assert "after bob left" not in bodies(snapshot["messages"]["chunk"])
    names = [e["content"]["name"] for e in snapshot["state"] if e["type"] == "m.room.name"]
    assert names == ["Lobby"]
    # Nothing after the leave reaches a former member's poll either.
    polled = await peek(bob, room_id, **{"from": snapshot["messages"]["end"], "timeout": "0"})
    assert polled["chunk"] == []


async def test_the_poll_is_woken_by_the_rooms_next_event(hs: Homeserver) -> None:
    alice, bob, room_id = await readable_room(hs)
    await alice.send_text(room_id, "before the peek")
    snapshot = (await bob.get(f"/rooms/{room_id}/initialSync")).json()
    since = snapshot["messages"]["end"]
    parked = asyncio.create_task(peek(bob, room_id, **{"from": since, "timeout": "30000"}))
    await hs.wait_for_waiting_syncs(1)
    event_id = await alice.send_text(room_id, "hello lurker")
    polled = await asyncio.wait_for(parked, 5)
    assert [e["event_id"] for e in polled["chunk"]] == [event_id]
    assert polled["chunk"][0]["room_id"] == room_id
    assert polled["start"] == since
    assert polled["end"] != since
    # The next poll goes on from `end`: nothing is repeated.
    again = await peek(bob, room_id, **{"from": polled["end"], "timeout": "0"})
    assert again["chunk"] == []
    assert again["end"] == polled["end"]


async def test_events_of_other_rooms_do_not_answer_the_poll(hs: Homeserver) -> None:
    alice, bob, room_id = await readable_room(hs)
    other = await alice.create_room(preset="public_chat")
    since = (await bob.get(f"/rooms/{room_id}/initialSync")).json()["messages"]["end"]
    parked = asyncio.create_task(peek(bob, room_id, **{"from": since, "timeout": "30000"}))
    await hs.wait_for_waiting_syncs(1)
    await alice.send_text(other, "elsewhere")
    await alice.send_text(room_id, "here")
    polled = await asyncio.wait_for(parked, 5)
    assert bodies(polled["chunk"]) == ["here"]


async def test_without_from_the_poll_starts_now(hs: Homeserver) -> None:
    alice, bob, room_id = await readable_room(hs)
    await alice.send_text(room_id, "old news")
    polled = await peek(bob, room_id, timeout="0")
    assert polled["chunk"] == []
    await alice.send_text(room_id, "fresh")
    assert bodies((await peek(bob, room_id, **{"from": polled["end"]}))["chunk"]) == ["fresh"]


async def test_a_room_that_stops_being_world_readable_ends_the_preview(hs: Homeserver) -> None:
    """As /messages: a lurker reads a room while its history is world-readable now; after
    that, the room is refused to them as to anyone not in it, and what was sent since stays
    hidden."""
    alice, bob, room_id = await readable_room(hs)
    since = (await bob.get(f"/rooms/{room_id}/initialSync")).json()["messages"]["end"]
    parked = asyncio.create_task(peek(bob, room_id, **{"from": since, "timeout": "30000"}))
    await hs.wait_for_waiting_syncs(1)
    await alice.send_text(room_id, "public words")
    polled = await asyncio.wait_for(parked, 5)
    assert bodies(polled["chunk"]) == ["public words"]
    await alice.put(
        f"/rooms/{room_id}/state/m.room.history_visibility",
        json={"history_visibility": "joined"},
    )
    await alice.send_text(room_id, "private words")
    refused = await bob.get("/events", params={"room_id": room_id, "from": polled["end"]})
    assert errcode(refused) == (403, "M_FORBIDDEN")
    assert errcode(await bob.get(f"/rooms/{room_id}/initialSync")) == (403, "M_FORBIDDEN")


async def test_a_lurker_sees_only_what_was_sent_while_world_readable(hs: Homeserver) -> None:
    """Spec: only events "where the room state at the event" had `world_readable`: a room
    made world-readable later shows a lurker nothing from before."""
    alice, bob, room_id = await readable_room(hs, "shared")
    await alice.send_text(room_id, "before")
    await alice.put(
        f"/rooms/{room_id}/state/m.room.history_visibility",
        json={"history_visibility": "world_readable"},
    )
    await alice.send_text(room_id, "after")
    snapshot = (await bob.get(f"/rooms/{room_id}/initialSync", params={"limit": "50"})).json()
    assert bodies(snapshot["messages"]["chunk"]) == ["after"]


async def test_a_long_answer_is_cut_and_continued_from_end(hs: Homeserver) -> None:
    alice, bob, room_id = await readable_room(hs)
    since = (await bob.get(f"/rooms/{room_id}/initialSync")).json()["messages"]["end"]
    sent = [f"m{i}" for i in range(105)]
    for text in sent:
        await alice.send_text(room_id, text)
    first = await peek(bob, room_id, **{"from": since, "timeout": "0"})
    second = await peek(bob, room_id, **{"from": first["end"], "timeout": "0"})
    assert len(first["chunk"]) == 100
    assert bodies(first["chunk"]) + bodies(second["chunk"]) == sent


async def test_an_ignored_senders_messages_are_not_shown(hs: Homeserver) -> None:
    alice, bob, room_id = await readable_room(hs)
    carol = await hs.register_user("carol")
    await carol.join(room_id)
    await bob.put(
        f"/user/{bob.user_id}/account_data/m.ignored_user_list",
        json={"ignored_users": {carol.user_id: {}}},
    )
    since = (await bob.get(f"/rooms/{room_id}/initialSync")).json()["messages"]["end"]
    await carol.send_text(room_id, "from carol")
    await alice.send_text(room_id, "from alice")
    polled = await peek(bob, room_id, **{"from": since, "timeout": "0"})
    assert bodies(polled["chunk"]) == ["from alice"]


async def test_bad_requests_get_clear_errors(hs: Homeserver) -> None:
    _alice, bob, room_id = await readable_room(hs)
    assert errcode(await bob.get("/events")) == (400, "M_MISSING_PARAM")
    assert errcode(await bob.get("/events", params={"room_id": room_id, "from": "nonsense"})) == (
        400,
        "M_INVALID_PARAM",
    )
    bad_timeout = await bob.get("/events", params={"room_id": room_id, "timeout": "soon"})
    assert bad_timeout.status_code == 400
    bad_limit = await bob.get(f"/rooms/{room_id}/initialSync", params={"limit": "-1"})
    assert bad_limit.status_code == 400
    unauthenticated = await hs.http.get("/_matrix/client/v3/events", params={"room_id": room_id})
    assert errcode(unauthenticated) == (401, "M_MISSING_TOKEN")


async def test_logout_ends_a_parked_peek_with_401(hs: Homeserver) -> None:
    _alice, bob, room_id = await readable_room(hs)
    parked = asyncio.create_task(
        bob.get("/events", params={"room_id": room_id, "timeout": "30000"})
    )
    await hs.wait_for_waiting_syncs(1)
    other = await hs.login("bob")
    assert (await other.post("/logout/all", json={})).status_code == 200
    assert errcode(await asyncio.wait_for(parked, 5)) == (401, "M_UNKNOWN_TOKEN")
