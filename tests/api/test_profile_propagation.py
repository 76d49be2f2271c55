"""A profile change reaches the member events of the rooms the user is joined to.

spec: client-server-api#events-on-change-of-profile-information: "an m.room.member event (with a
join membership) is sent to every room the user is a member of, to update the displayname and
avatar_url." ... "Both of these should be done automatically by the homeserver when a user
successfully changes their display name or avatar URL fields."
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bastion.services.rooms.member_profiles import BATCH_SIZE
from tests.api.rooms_helpers import timeline
from tests.conftest import Homeserver, UserClient

AVATAR = "mxc://test.bastion/alicepic"


async def put_displayname(user: UserClient, name: str) -> None:
    resp = await user.put(f"/profile/{user.user_id}/displayname", json={"displayname": name})
    assert resp.status_code == 200, resp.text


async def member_state(reader: UserClient, room_id: str, user_id: str) -> dict[str, Any]:
    resp = await reader.get(f"/rooms/{room_id}/state/m.room.member/{user_id}")
    assert resp.status_code == 200, resp.text
    content: dict[str, Any] = resp.json()
    return content


async def joined_members(reader: UserClient, room_id: str) -> dict[str, Any]:
    resp = await reader.get(f"/rooms/{room_id}/joined_members")
    assert resp.status_code == 200, resp.text
    joined: dict[str, Any] = resp.json()["joined"]
    return joined


async def members_content(reader: UserClient, room_id: str, user_id: str) -> dict[str, Any]:
    """The content of `user_id`'s member event as GET /members lists it."""
    resp = await reader.get(f"/rooms/{room_id}/members")
    assert resp.status_code == 200, resp.text
    [event] = [e for e in resp.json()["chunk"] if e["state_key"] == user_id]
    content: dict[str, Any] = event["content"]
    return content


def member_events(sync: dict[str, Any], room_id: str, user_id: str) -> list[dict[str, Any]]:
    return [
        e
        for e in timeline(sync, room_id)
        if e["type"] == "m.room.member" and e["state_key"] == user_id
    ]


async def public_room(owner: UserClient, *joiners: UserClient) -> str:
    room_id = await owner.create_room(preset="public_chat")
    for user in joiners:
        await user.join(room_id)
    return room_id


async def test_displayname_reaches_every_joined_room(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    rooms = [await public_room(alice, bob), await public_room(bob, alice)]
    left = await public_room(bob, alice)
    assert (await alice.post(f"/rooms/{left}/leave", json={})).status_code == 200
    since = (await bob.sync())["next_batch"]

    await put_displayname(alice, "Alice Liddell")

    for room_id in rooms:
        assert (await joined_members(bob, room_id))[alice.user_id]["display_name"] == (
            "Alice Liddell"
        )
        assert (await members_content(bob, room_id, alice.user_id))["displayname"] == (
            "Alice Liddell"
        )
        assert await member_state(bob, room_id, alice.user_id) == {
            "membership": "join",
            "displayname": "Alice Liddell",
        }
    sync = await bob.sync(since)
    for room_id in rooms:
        [event] = member_events(sync, room_id, alice.user_id)
        assert event["sender"] == alice.user_id
        assert event["content"] == {"membership": "join", "displayname": "Alice Liddell"}
        assert event["unsigned"]["prev_content"]["displayname"] == "alice"
    # A room she has left keeps her leave; nothing was sent there.
    assert await member_state(bob, left, alice.user_id) == {"membership": "leave"}
    assert left not in sync["rooms"]["join"] or not timeline(sync, left)


async def test_avatar_reaches_rooms_and_keeps_the_name(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await public_room(alice, bob)
    await put_displayname(alice, "Alice Liddell")

    resp = await alice.put(f"/profile/{alice.user_id}/avatar_url", json={"avatar_url": AVATAR})
    assert resp.status_code == 200, resp.text

    assert (await joined_members(bob, room_id))[alice.user_id] == {
        "display_name": "Alice Liddell",
        "avatar_url": AVATAR,
    }
    assert await member_state(bob, room_id, alice.user_id) == {
        "membership": "join",
        "displayname": "Alice Liddell",
        "avatar_url": AVATAR,
    }
    # Clearing the avatar leaves the key out of the new event.
    resp = await alice.put(f"/profile/{alice.user_id}/avatar_url", json={"avatar_url": ""})
    assert resp.status_code == 200, resp.text
    assert await member_state(bob, room_id, alice.user_id) == {
        "membership": "join",
        "displayname": "Alice Liddell",
    }


async def test_an_unchanged_profile_sends_nothing(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await public_room(alice, bob)
    since = (await bob.sync())["next_batch"]
    await put_displayname(alice, "alice")  # her member event already says so

    await put_displayname(alice, "Alice Liddell")
    middle = await bob.sync(since)
    assert len(member_events(middle, room_id, alice.user_id)) == 1
    await put_displayname(alice, "Alice Liddell")

    assert member_events(await bob.sync(middle["next_batch"]), room_id, alice.user_id) == []


async def test_the_rest_of_the_member_content_is_kept(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    own = {"membership": "join", "displayname": "alice", "org.example.badge": "gold"}
    resp = await alice.put(
        f"/rooms/{room_id}/state/m.room.member/{alice.user_id}", json={**own, "reason": "badge"}
    )
    assert resp.status_code == 200, resp.text

    await put_displayname(alice, "Alice Liddell")

    # The reason explained the earlier change, not this one.
    assert await member_state(alice, room_id, alice.user_id) == {
        **own,
        "displayname": "Alice Liddell",
    }


async def test_a_refusing_room_does_not_stop_the_others(
    hs: Homeserver, caplog: pytest.LogCaptureFixture
) -> None:
    alice = await hs.register_user("alice")
    closed = await alice.create_room()
    # A `private` join rule refuses every join, even join -> join (auth rules, m.room.member).
    resp = await alice.put(
        f"/rooms/{closed}/state/m.room.join_rules", json={"join_rule": "private"}
    )
    assert resp.status_code == 200, resp.text
    open_room = await alice.create_room()

    with caplog.at_level(logging.WARNING, logger="bastion.services.rooms.member_profiles"):
        await put_displayname(alice, "Alice Liddell")

    assert (await member_state(alice, open_room, alice.user_id))["displayname"] == "Alice Liddell"
    assert (await member_state(alice, closed, alice.user_id))["displayname"] == "alice"
    assert any(closed in record.getMessage() for record in caplog.records)
    profile = await alice.get(f"/profile/{alice.user_id}")
    assert profile.json() == {"displayname": "Alice Liddell"}


async def test_many_rooms_and_a_leave_during_the_update(hs: Homeserver) -> None:
    """More rooms than one batch; a room left while the update runs is not joined again."""
    alice = await hs.register_user("alice")
    rooms = [await alice.create_room(preset="public_chat") for _ in range(BATCH_SIZE + 1)]
    last = rooms[-1]  # in the second batch, read after the first batch has yielded

    put, leave = await asyncio.gather(
        alice.put(f"/profile/{alice.user_id}/displayname", json={"displayname": "Alice L"}),
        alice.post(f"/rooms/{last}/leave", json={}),
    )

    assert (put.status_code, leave.status_code) == (200, 200)
    for room_id in rooms[:-1]:
        assert (await member_state(alice, room_id, alice.user_id))["displayname"] == "Alice L"
    assert (await member_state(alice, last, alice.user_id))["membership"] == "leave"
    joined = (await alice.get("/joined_rooms")).json()["joined_rooms"]
    assert set(joined) == set(rooms[:-1])
