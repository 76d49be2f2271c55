"""Join, invite, leave, kick, ban, unban, knock, forget, joined_rooms, and their refusals."""

from __future__ import annotations

import pytest

from tests.api.rooms_helpers import timeline
from tests.conftest import Homeserver, errcode

UNKNOWN_ROOM = "!doesnotexist"


async def test_invite_join_leave(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room()
    assert (
        await alice.post(f"/rooms/{room_id}/invite", json={"user_id": bob.user_id})
    ).status_code == 200
    assert (await bob.post(f"/rooms/{room_id}/join", json={})).json() == {"room_id": room_id}
    assert room_id in (await bob.get("/joined_rooms")).json()["joined_rooms"]
    # Joining again changes nothing and succeeds.
    assert (await bob.post(f"/join/{room_id}", json={})).status_code == 200
    joined = (await alice.get(f"/rooms/{room_id}/joined_members")).json()["joined"]
    assert set(joined) == {alice.user_id, bob.user_id}
    assert joined[bob.user_id]["display_name"] == "bob"
    assert (await bob.post(f"/rooms/{room_id}/leave", json={"reason": "done"})).status_code == 200
    assert (await bob.get("/joined_rooms")).json()["joined_rooms"] == []
    member = (await alice.get(f"/rooms/{room_id}/state/m.room.member/{bob.user_id}")).json()
    assert member == {"membership": "leave", "reason": "done"}


async def test_membership_refusals(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room_id = await alice.create_room()
    # Not a member: cannot send, read state, invite, or join an invite-only room.
    resp = await bob.put(f"/rooms/{room_id}/send/m.room.message/1", json={"body": "hi"})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert errcode(await bob.post(f"/rooms/{room_id}/join", json={})) == (403, "M_FORBIDDEN")
    resp = await bob.post(f"/rooms/{room_id}/invite", json={"user_id": carol.user_id})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert errcode(await bob.get(f"/rooms/{room_id}/state")) == (403, "M_FORBIDDEN")
    assert errcode(await bob.get(f"/rooms/{room_id}/messages")) == (403, "M_FORBIDDEN")
    assert errcode(await bob.post(f"/rooms/{room_id}/leave", json={})) == (403, "M_FORBIDDEN")
    # Inviting someone who does not exist, or who is already in the room.
    resp = await alice.post(f"/rooms/{room_id}/invite", json={"user_id": "@ghost:test.bastion"})
    assert errcode(resp) == (404, "M_NOT_FOUND")
    resp = await alice.post(f"/rooms/{room_id}/invite", json={"user_id": alice.user_id})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    resp = await alice.post(f"/rooms/{room_id}/invite", json={"user": bob.user_id})
    assert errcode(resp) == (400, "M_BAD_JSON")
    # Unknown rooms.
    for resp in (
        await bob.post(f"/rooms/{UNKNOWN_ROOM}/join", json={}),
        await bob.post("/join/%23nowhere:test.bastion", json={}),
        await alice.put(f"/rooms/{UNKNOWN_ROOM}/send/m.room.message/1", json={"body": "x"}),
        await alice.get(f"/rooms/{UNKNOWN_ROOM}/messages"),
        await alice.get(f"/rooms/{UNKNOWN_ROOM}/state"),
        await alice.post(f"/rooms/{UNKNOWN_ROOM}/invite", json={"user_id": bob.user_id}),
    ):
        assert errcode(resp) == (404, "M_NOT_FOUND"), resp.text
    assert errcode(await bob.post("/join/not-a-room", json={})) == (400, "M_INVALID_PARAM")


async def test_kick_needs_power_and_ban_is_sticky(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    await carol.join(room_id)
    resp = await bob.post(f"/rooms/{room_id}/kick", json={"user_id": carol.user_id})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    resp = await bob.post(f"/rooms/{room_id}/ban", json={"user_id": carol.user_id})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    resp = await bob.post(f"/rooms/{room_id}/kick", json={"user_id": alice.user_id})
    assert errcode(resp) == (403, "M_FORBIDDEN")  # nobody outranks the creator

    resp = await alice.post(
        f"/rooms/{room_id}/kick", json={"user_id": carol.user_id, "reason": "r"}
    )
    assert resp.status_code == 200
    await carol.join(room_id)  # a kick is not a ban in a public room
    assert (
        await alice.post(f"/rooms/{room_id}/ban", json={"user_id": carol.user_id})
    ).status_code == 200
    assert errcode(await carol.post(f"/rooms/{room_id}/join", json={})) == (403, "M_FORBIDDEN")
    resp = await alice.post(f"/rooms/{room_id}/invite", json={"user_id": carol.user_id})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    resp = await bob.post(f"/rooms/{room_id}/unban", json={"user_id": carol.user_id})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    resp = await alice.post(f"/rooms/{room_id}/unban", json={"user_id": bob.user_id})
    assert errcode(resp) == (403, "M_FORBIDDEN")  # bob is not banned
    assert (
        await alice.post(f"/rooms/{room_id}/unban", json={"user_id": carol.user_id})
    ).status_code == 200
    await carol.join(room_id)
    resp = await alice.post(f"/rooms/{room_id}/kick", json={"user_id": "@nobody:test.bastion"})
    assert errcode(resp) == (403, "M_FORBIDDEN")


@pytest.mark.parametrize("version", ["7", "12"])  # 7: what Element Web asks for ("ask to join")
async def test_knock_then_invite(hs: Homeserver, version: str) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(
        room_version=version,
        initial_state=[{"type": "m.room.join_rules", "content": {"join_rule": "knock"}}],
    )
    private = await alice.create_room()
    assert errcode(await bob.post(f"/knock/{private}", json={})) == (403, "M_FORBIDDEN")
    assert (await bob.post(f"/knock/{room_id}", json={"reason": "please"})).status_code == 200
    assert room_id in (await bob.sync())["rooms"]["knock"]
    assert errcode(await bob.post(f"/rooms/{room_id}/join", json={})) == (403, "M_FORBIDDEN")
    assert (
        await alice.post(f"/rooms/{room_id}/invite", json={"user_id": bob.user_id})
    ).status_code == 200
    await bob.join(room_id)


async def test_forget(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    assert errcode(await bob.post(f"/rooms/{room_id}/forget", json={})) == (400, "M_UNKNOWN")
    await bob.post(f"/rooms/{room_id}/leave", json={})
    leave_filter = '{"room": {"include_leave": true}}'
    assert room_id in (await bob.sync(filter=leave_filter))["rooms"]["leave"]
    assert (await bob.post(f"/rooms/{room_id}/forget", json={})).status_code == 200
    assert room_id not in (await bob.sync(filter=leave_filter))["rooms"]["leave"]
    assert errcode(await bob.post(f"/rooms/{UNKNOWN_ROOM}/forget", json={})) == (404, "M_NOT_FOUND")


async def test_kicked_user_sees_the_kick_and_nothing_newer(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    token = (await bob.sync())["next_batch"]
    await alice.send_text(room_id, "before")
    await alice.post(f"/rooms/{room_id}/kick", json={"user_id": bob.user_id})
    await alice.send_text(room_id, "after the kick")
    sync = await bob.sync(since=token)
    assert room_id not in sync["rooms"]["join"]
    left = timeline(sync, room_id, "leave")
    assert [e["content"].get("body") or e["content"].get("membership") for e in left] == [
        "before",
        "leave",
    ]
    later = await bob.sync(since=sync["next_batch"])
    assert room_id not in later["rooms"]["join"]
    assert room_id not in later["rooms"]["leave"]
    chunk = (await bob.get(f"/rooms/{room_id}/messages", params={"dir": "b"})).json()["chunk"]
    assert "after the kick" not in [e["content"].get("body") for e in chunk]
    assert "before" in [e["content"].get("body") for e in chunk]
