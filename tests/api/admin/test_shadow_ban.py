"""Synapse's shadow ban (`POST`/`DELETE /_synapse/admin/v1/users/{userId}/shadow_ban`, Synapse's
user admin API docs): "A shadow-banned users receives successful responses to their
client-server API requests, but the events are not propagated into rooms"; "A shadow-banned
user will be unable to contact anyone on the server"; "An empty JSON dict is returned in both
cases"; "`user_id` ... The user must be local"."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.admin.users_helpers import V2, audit_rows
from tests.conftest import Homeserver, UserClient, errcode

SHADOW_BAN = "/_synapse/admin/v1/users/{}/shadow_ban"


async def shadow_ban(admin: UserClient, user_id: str, banned: bool = True) -> None:
    path = SHADOW_BAN.format(user_id)
    resp = await (admin.post(path, json={}) if banned else admin.delete(path))
    assert resp.status_code == 200, resp.text
    assert resp.json() == {}


async def timeline_ids(client: UserClient, room_id: str) -> list[str]:
    resp = await client.get(f"/rooms/{room_id}/messages", params={"dir": "b", "limit": "50"})
    assert resp.status_code == 200, resp.text
    return [e["event_id"] for e in resp.json()["chunk"]]


async def ok(resp: Any) -> dict[str, Any]:
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


@dataclass
class Ward:
    """root (an admin), alice (to be shadow-banned) in bob's room `room`, and carol outside."""

    root: UserClient
    alice: UserClient
    bob: UserClient
    carol: UserClient
    room: str


async def ward(hs: Homeserver) -> Ward:
    root = await hs.register_user("root", admin=True)
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room = await bob.create_room(name="Ward", invite=[alice.user_id])
    await alice.join(room)
    return Ward(root, alice, bob, carol, room)


async def test_its_room_events_typing_and_upgrades_are_answered_but_dropped(
    hs: Homeserver, caplog: pytest.LogCaptureFixture
) -> None:
    w = await ward(hs)
    root, alice, bob, room = w.root, w.alice, w.bob, w.room
    before = await alice.send_text(room, "before the ban")
    real = await ok(await alice.put(f"/rooms/{room}/send/m.room.message/t0", json={"body": "0"}))
    own = await alice.create_room(name="Alice's own")
    since = (await bob.sync())["next_batch"]

    await shadow_ban(root, alice.user_id)  # her token predates the ban: it applies at once
    assert (await ok(await root.get(f"{V2}/{alice.user_id}")))["shadow_banned"] is True

    # Answered as if it worked ...
    with caplog.at_level(logging.INFO, logger="bastion.services.shadow_ban"):
        sent = await alice.send_text(room, "after the ban")
    assert sent.startswith("$")
    assert len(sent) == 44
    dropped = f"dropped a m.room.message event in {room} of shadow-banned {alice.user_id}"
    assert dropped in caplog.messages  # logged, since nothing is stored
    topic = await ok(await alice.put(f"/rooms/{room}/state/m.room.topic/", json={"topic": "x"}))
    redaction = await ok(await alice.put(f"/rooms/{room}/redact/{before}/r1", json={}))
    # A retried transaction gets the same answer, as a real send does; another one does not.
    again = await ok(await alice.put(f"/rooms/{room}/redact/{before}/r1", json={}))
    assert again["event_id"] == redaction["event_id"]
    sends = [
        (await ok(await alice.put(f"/rooms/{room}/send/m.room.message/{txn}", json=body)))
        for txn, body in (("t1", {"body": "a"}), ("t1", {"body": "a"}), ("t2", {"body": "b"}))
    ]
    assert sends[0] == sends[1] != sends[2]
    # A transaction stored before the ban, retried after it, is answered with its real event.
    retried = await ok(await alice.put(f"/rooms/{room}/send/m.room.message/t0", json={"body": "0"}))
    assert retried == real
    assert real["event_id"] in await timeline_ids(bob, room)
    typing = await alice.put(
        f"/rooms/{room}/typing/{alice.user_id}", json={"typing": True, "timeout": 30000}
    )
    assert await ok(typing) == {}
    upgraded = await ok(await alice.post(f"/rooms/{own}/upgrade", json={"new_version": "12"}))
    fake_room = upgraded["replacement_room"]
    assert fake_room.startswith("!")
    assert len(fake_room) == 44

    # ... and nothing reached anyone, herself included.
    for event_id in (sent, topic["event_id"], redaction["event_id"]):
        assert errcode(await bob.get(f"/rooms/{room}/event/{event_id}")) == (404, "M_NOT_FOUND")
        assert event_id not in await timeline_ids(alice, room)
    assert errcode(await bob.get(f"/rooms/{room}/state/m.room.topic/"))[0] == 404
    kept = await ok(await bob.get(f"/rooms/{room}/event/{before}"))
    assert kept["content"]["body"] == "before the ban"  # not redacted
    news = (await bob.sync(since))["rooms"]["join"].get(room, {})
    assert news.get("timeline", {}).get("events", []) == []
    assert [e for e in news.get("ephemeral", {}).get("events", []) if e["type"] == "m.typing"] == []
    assert errcode(await root.get(f"/_synapse/admin/v1/rooms/{fake_room}"))[0] == 404
    assert errcode(await alice.get(f"/rooms/{own}/state/m.room.tombstone/"))[0] == 404

    # Lifted: her next request reaches the room; others were never affected.
    assert (await bob.send_text(room, "bob still talks")).startswith("$")
    await shadow_ban(root, alice.user_id, banned=False)
    heard = await alice.send_text(room, "heard again")
    assert heard in await timeline_ids(bob, room)
    assert (await ok(await root.get(f"{V2}/{alice.user_id}")))["shadow_banned"] is False
    banned_by = [r["actor"] for r in await audit_rows(hs, "user.shadow_ban", alice.user_id)]
    assert banned_by == [root.user_id]
    assert len(await audit_rows(hs, "user.unshadow_ban", alice.user_id)) == 1


async def test_its_invites_and_profile_reach_no_one_but_it_joins_and_leaves(
    hs: Homeserver,
) -> None:
    w = await ward(hs)
    root, alice, bob, carol, room = w.root, w.alice, w.bob, w.carol, w.room
    lobby = await bob.create_room(name="Lobby", preset="public_chat")
    carol_since = (await carol.sync())["next_batch"]
    await shadow_ban(root, alice.user_id)

    invited = await alice.post(f"/rooms/{room}/invite", json={"user_id": carol.user_id})
    assert await ok(invited) == {}
    new_room = await alice.create_room(name="Secret", invite=[carol.user_id])
    renamed = await alice.put(f"/profile/{alice.user_id}/displayname", json={"displayname": "Al"})
    await ok(renamed)

    carol_news = await carol.sync(carol_since)
    assert carol_news["rooms"].get("invite", {}) == {}  # neither invite reached her
    membership = await ok(await alice.get(f"/rooms/{new_room}/joined_members"))
    assert list(membership["joined"]) == [alice.user_id]  # the room exists, without invitees
    profile = await ok(await bob.get(f"/profile/{alice.user_id}"))
    assert profile["displayname"] == "Al"  # the profile itself changed ...
    member = await ok(await bob.get(f"/rooms/{room}/state/m.room.member/{alice.user_id}"))
    assert member.get("displayname") != "Al"  # ... but not her member events

    # Joining and leaving work as for anyone.
    await alice.join(lobby)
    assert alice.user_id in (await ok(await bob.get(f"/rooms/{lobby}/joined_members")))["joined"]
    assert (await alice.post(f"/rooms/{lobby}/leave", json={})).status_code == 200
    assert (
        alice.user_id not in (await ok(await bob.get(f"/rooms/{lobby}/joined_members")))["joined"]
    )


async def test_the_users_list_shows_and_orders_by_the_shadow_ban(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    await hs.register_user("alice")
    zed = await hs.register_user("zed")
    await shadow_ban(root, zed.user_id)
    listed = await ok(await root.get(V2, params={"order_by": "shadow_banned", "dir": "b"}))
    assert [(u["name"], u["shadow_banned"]) for u in listed["users"]] == [
        (zed.user_id, True),
        ("@alice:test.bastion", False),
        (root.user_id, False),
    ]


async def test_who_may_shadow_ban_whom(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    bob = await hs.register_user("bob")
    alice = await hs.register_user("alice")
    path = SHADOW_BAN.format(alice.user_id)
    assert errcode(await bob.post(path, json={})) == (403, "M_FORBIDDEN")
    assert errcode(await bob.delete(path)) == (403, "M_FORBIDDEN")
    assert errcode(await hs.http.post(path, json={}))[0] == 401
    remote = SHADOW_BAN.format("@alice:elsewhere.example")
    assert errcode(await root.post(remote, json={}))[0] == 400
    unknown = SHADOW_BAN.format("@nobody:test.bastion")
    assert errcode(await root.post(unknown, json={})) == (404, "M_NOT_FOUND")
    assert (await ok(await root.get(f"{V2}/{alice.user_id}")))["shadow_banned"] is False
    # Refusals come before the pretence: a banned account still learns what it may not do.
    await shadow_ban(root, bob.user_id)
    room = await alice.create_room(name="Alice's")
    refused = await bob.post(f"/rooms/{room}/upgrade", json={"new_version": "12"})
    assert errcode(refused) == (403, "M_FORBIDDEN")
    bad_txn = await bob.put(f"/rooms/{room}/send/m.room.message/{'x' * 300}", json={})
    assert errcode(bad_txn) == (400, "M_INVALID_PARAM")


async def test_member_state_events_drop_only_invites_and_room_names(hs: Homeserver) -> None:
    """Synapse sends a shadow-banned account's membership changes but its invites, and strips
    the per-room name and avatar from its member events."""
    w = await ward(hs)
    root, alice, bob, carol = w.root, w.alice, w.bob, w.carol
    await shadow_ban(root, alice.user_id)
    member_path = f"/rooms/{w.room}/state/m.room.member/"

    nick = {"membership": "join", "displayname": "Nickname"}
    await ok(await alice.put(member_path + alice.user_id, json=nick))
    await ok(await alice.put(member_path + carol.user_id, json={"membership": "invite"}))
    seen = await ok(await bob.get(member_path + alice.user_id))
    assert seen.get("displayname") != "Nickname"
    assert errcode(await bob.get(member_path + carol.user_id))[0] == 404

    await ok(await alice.put(member_path + alice.user_id, json={"membership": "leave"}))
    assert (await ok(await bob.get(member_path + alice.user_id)))["membership"] == "leave"
