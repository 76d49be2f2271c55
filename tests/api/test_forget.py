"""POST /rooms/{roomId}/forget: a forgotten room's history can no longer be read, on any path.

spec (client-server-api#post_matrixclientv3roomsroomidforget): "After this API is called, however,
a user will no longer be able to retrieve history for this room." and (#leaving-rooms): "Rooms
which have been forgotten will never appear in the response to the /sync API, until the user
re-joins, is re-invited, or knocks."

A user who forgot a room reads it exactly as someone who was never in it: every read path answers
them what it answers a stranger.
"""

from __future__ import annotations

import secrets
from typing import Any, NamedTuple

import httpx

from tests.api.rooms_helpers import bodies
from tests.conftest import Homeserver, UserClient, errcode

V1 = "/_matrix/client/v1"
LEAVE_FILTER = '{"room": {"include_leave": true}}'


async def _send(user: UserClient, room_id: str, content: dict[str, Any]) -> str:
    resp = await user.put(
        f"/rooms/{room_id}/send/m.room.message/{secrets.token_hex(8)}", json=content
    )
    assert resp.status_code == 200, resp.text
    event_id: str = resp.json()["event_id"]
    return event_id


async def _reads(user: UserClient, room_id: str, root: str) -> dict[str, httpx.Response]:
    """Every room read path the client API offers, as `user` sees it."""
    paths = {
        "messages": f"/rooms/{room_id}/messages",
        "context": f"/rooms/{room_id}/context/{root}",
        "event": f"/rooms/{room_id}/event/{root}",
        "state": f"/rooms/{room_id}/state",
        "state_event": f"/rooms/{room_id}/state/m.room.create/",
        "members": f"/rooms/{room_id}/members",
        "joined_members": f"/rooms/{room_id}/joined_members",
        "aliases": f"/rooms/{room_id}/aliases",
        "relations": f"{V1}/rooms/{room_id}/relations/{root}",
        "threads": f"{V1}/rooms/{room_id}/threads",
        "timestamp_to_event": f"{V1}/rooms/{room_id}/timestamp_to_event?ts=0&dir=f",
        "summary": f"{V1}/room_summary/{room_id}",
    }
    return {name: await user.get(path) for name, path in paths.items()}


async def _search(user: UserClient, term: str) -> list[str]:
    body = {"search_categories": {"room_events": {"search_term": term}}}
    resp = await user.post("/search", json=body)
    assert resp.status_code == 200, resp.text
    results = resp.json()["search_categories"]["room_events"]["results"]
    return [r["result"]["content"]["body"] for r in results]


async def _notified_rooms(user: UserClient) -> set[str]:
    resp = await user.get("/notifications")
    assert resp.status_code == 200, resp.text
    return {n["room_id"] for n in resp.json()["notifications"]}


class LeftRoom(NamedTuple):
    alice: UserClient
    bob: UserClient
    carol: UserClient
    room_id: str
    root: str  # a thread root, with one reply
    since: str  # bob's sync token from before he left


async def _left_room(hs: Homeserver) -> LeftRoom:
    """alice's private room with a thread that bob was in and left; carol was never in it."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room_id = await alice.create_room(preset="private_chat", invite=[bob.user_id])
    await bob.join(room_id)
    root = await _send(alice, room_id, {"msgtype": "m.text", "body": "needle root"})
    reply = {"msgtype": "m.text", "body": "needle reply",
             "m.relates_to": {"rel_type": "m.thread", "event_id": root}}  # fmt: skip
    await _send(alice, room_id, reply)
    since = (await bob.sync())["next_batch"]
    assert (await bob.post(f"/rooms/{room_id}/leave", json={})).status_code == 200
    return LeftRoom(alice, bob, carol, room_id, root, since)


async def test_forgotten_room_reads_as_for_someone_never_in_it(hs: Homeserver) -> None:
    """ "After this API is called, however, a user will no longer be able to retrieve history for
    this room." Every read path answers bob, once he forgot, what it answers carol, a stranger."""
    _, bob, carol, room_id, root, _ = await _left_room(hs)
    before = await _reads(bob, room_id, root)
    readable = {"messages", "context", "event", "state", "state_event", "members", "aliases",
                "relations", "threads", "timestamp_to_event"}  # fmt: skip
    assert {name for name, resp in before.items() if resp.status_code == 200} == readable
    assert "needle root" in bodies(before["messages"].json()["chunk"])

    assert (await bob.post(f"/rooms/{room_id}/forget", json={})).status_code == 200
    after = await _reads(bob, room_id, root)
    stranger = await _reads(carol, room_id, root)
    for name, resp in after.items():
        assert resp.status_code != 200, (name, resp.text)
        assert errcode(resp) == errcode(stranger[name]), name
    assert errcode(after["messages"]) == (403, "M_FORBIDDEN")


async def test_forgotten_room_is_not_searched_notified_or_synced(hs: Homeserver) -> None:
    """Search and /notifications return history too; and forgotten rooms "will never appear in
    the response to the /sync API" even with `include_leave`, except the leave itself: a sync
    whose window holds the leave carries it (only it), as Synapse does (matrix-spec#1458: else
    a client that did not forget never sees the room go)."""
    _, bob, _, room_id, _, since = await _left_room(hs)
    assert sorted(await _search(bob, "needle")) == ["needle reply", "needle root"]
    assert await _notified_rooms(bob) == {room_id}
    assert room_id in (await bob.sync(filter=LEAVE_FILTER))["rooms"]["leave"]
    assert room_id in (await bob.sync(since, filter=LEAVE_FILTER))["rooms"]["leave"]

    assert (await bob.post(f"/rooms/{room_id}/forget", json={})).status_code == 200
    assert await _search(bob, "needle") == []
    assert await _notified_rooms(bob) == set()
    assert room_id not in (await bob.sync(filter=LEAVE_FILTER))["rooms"]["leave"]
    spanning = await bob.sync(since, filter=LEAVE_FILTER)
    timeline = spanning["rooms"]["leave"][room_id]["timeline"]["events"]
    assert [(e["type"], e["state_key"], e["content"]["membership"]) for e in timeline] == [
        ("m.room.member", bob.user_id, "leave")
    ]
    assert room_id not in (await bob.sync(spanning["next_batch"]))["rooms"].get("leave", {})
    assert (await bob.sync(since))["rooms"]["leave"][room_id]["timeline"]["events"] == timeline


async def test_rejoining_restores_normal_access(hs: Homeserver) -> None:
    """ "... until the user re-joins, is re-invited, or knocks": after a new invite and join, bob
    reads the room again as the history-visibility rules allow (shared: all of it)."""
    alice, bob, _, room_id, root, _ = await _left_room(hs)
    assert (await bob.post(f"/rooms/{room_id}/forget", json={})).status_code == 200
    assert errcode(await bob.get(f"/rooms/{room_id}/messages")) == (403, "M_FORBIDDEN")
    resp = await alice.post(f"/rooms/{room_id}/invite", json={"user_id": bob.user_id})
    assert resp.status_code == 200, resp.text
    assert room_id in (await bob.sync())["rooms"]["invite"]
    await bob.join(room_id)
    reads = await _reads(bob, room_id, root)
    assert {name for name, resp in reads.items() if resp.status_code != 200} == set()
    assert "needle root" in bodies(reads["messages"].json()["chunk"])
    assert sorted(await _search(bob, "needle")) == ["needle reply", "needle root"]


async def test_forgotten_world_readable_room_reads_as_for_a_stranger(hs: Homeserver) -> None:
    """A world-readable room stays readable after forgetting it, but only as it is for anyone:
    what bob saw only as a member (history `joined` at the time) is gone with the rest."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    hv = "/state/m.room.history_visibility/"
    room_id = await alice.create_room(preset="public_chat")
    resp = await alice.put(f"/rooms/{room_id}{hv}", json={"history_visibility": "joined"})
    assert resp.status_code == 200, resp.text
    await bob.join(room_id)
    await _send(alice, room_id, {"msgtype": "m.text", "body": "members only"})
    assert (await bob.post(f"/rooms/{room_id}/leave", json={})).status_code == 200
    resp = await alice.put(f"/rooms/{room_id}{hv}", json={"history_visibility": "world_readable"})
    assert resp.status_code == 200, resp.text
    await _send(alice, room_id, {"msgtype": "m.text", "body": "for everyone"})

    async def seen(user: UserClient) -> list[str]:
        resp = await user.get(f"/rooms/{room_id}/messages", params={"limit": "50"})
        assert resp.status_code == 200, resp.text
        return bodies(resp.json()["chunk"])

    assert await seen(bob) == ["for everyone", "members only"]
    assert await seen(carol) == ["for everyone"]
    assert (await bob.post(f"/rooms/{room_id}/forget", json={})).status_code == 200
    assert await seen(bob) == await seen(carol)


async def test_a_ban_after_forgetting_does_not_bring_the_room_back(hs: Homeserver) -> None:
    """Forgotten rooms never appear in /sync "until the user re-joins, is re-invited, or knocks":
    being banned (or unbanned) by someone else is none of those."""
    alice, bob, carol, room_id, root, _ = await _left_room(hs)
    assert (await bob.post(f"/rooms/{room_id}/forget", json={})).status_code == 200
    for action in ("ban", "unban"):
        resp = await alice.post(f"/rooms/{room_id}/{action}", json={"user_id": bob.user_id})
        assert resp.status_code == 200, resp.text
        assert room_id not in (await bob.sync(filter=LEAVE_FILTER))["rooms"]["leave"]
        assert errcode(await bob.get(f"/rooms/{room_id}/messages")) == (403, "M_FORBIDDEN")
        assert errcode(await bob.get(f"/rooms/{room_id}/event/{root}")) == errcode(
            await carol.get(f"/rooms/{room_id}/event/{root}")
        )
