"""Admin removal of one message, as the organisation's moderation account, in rooms where no
admin is left (issue #12, section 1: "an admin removes any message with a reason (`POST
/_bastion/admin/v1/rooms/{roomId}/events/{eventId}/redact`) ... Events must stay valid under the
room version's auth rules ... test it in a room where no admin is left").

Spec (client-server-api#redactions): "Upon receipt of a redaction event, the server must strip
off any keys not in the following list"; the redaction is an event of its sender, authorised by
the room's power levels ("redact": "The level required to redact an event sent by another
user"), and in room version 12 "the room creators ... have infinite power level".
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import OPERATOR, Homeserver, UserClient, errcode

VERSIONS = ["9", "10", "11", "12"]
MODERATOR = "moderator"


async def with_moderator(hs: Homeserver) -> str:
    """Create the moderation account and name it in the policy (`rooms.moderator`)."""
    user_id = await hs.create_user(MODERATOR)
    await hs.runtime.services.policy.replace(OPERATOR, {"rooms": {"moderator": user_id}})
    return user_id


async def abandoned_room(
    hs: Homeserver, version: str, *, preset: str = "private_chat"
) -> tuple[UserClient, str, str]:
    """alice creates a room, bob joins and posts, alice leaves: no admin is left in it.

    Returns bob, the room and bob's message."""
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    room_id = await alice.create_room(preset=preset, room_version=version)
    if preset == "private_chat":
        resp = await alice.post(f"/rooms/{room_id}/invite", json={"user_id": bob.user_id})
        assert resp.status_code == 200, resp.text
    await bob.join(room_id)
    event_id = await bob.send_text(room_id, "something that must go")
    assert (await alice.post(f"/rooms/{room_id}/leave", json={})).status_code == 200
    return bob, room_id, event_id


async def seen_by(client: UserClient, room_id: str, event_id: str) -> dict[str, Any]:
    resp = await client.get(f"/rooms/{room_id}/event/{event_id}")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def audit_rows(hs: Homeserver, action: str) -> list[tuple[str, str]]:
    rows = await hs.runtime.db.fetch_all(
        "SELECT outcome, target FROM audit_log WHERE action = ? ORDER BY seq", action
    )
    return [(r[0], r[1]) for r in rows]


async def test_without_a_moderation_account_the_server_refuses(hs: Homeserver) -> None:
    """Brief: "If no moderation account is configured, the server refuses with a clear 400
    naming the policy setting." The refusal is audited as failed."""
    root = await hs.register_user("root", admin=True)
    bob, room_id, event_id = await abandoned_room(hs, "12")
    resp = await root.post(
        f"/_bastion/admin/v1/rooms/{room_id}/events/{event_id}/redact", json={"reason": "spam"}
    )
    assert errcode(resp) == (400, "M_INVALID_PARAM")
    assert "rooms.moderator" in resp.json()["error"]
    assert (await seen_by(bob, room_id, event_id))["content"]["body"] == "something that must go"
    assert await audit_rows(hs, "event.redact") == [("failure", event_id)]


@pytest.mark.parametrize("version", VERSIONS)
async def test_in_a_room_with_no_admin_left_the_moderation_account_redacts(
    hs: Homeserver, version: str
) -> None:
    """A room made under the policy (v12: the moderation account is an additional creator;
    v10/v11: it has power 100), whose creator left: nobody joined has power, yet the message is
    removed. The account is invited by a member (invite level 0) and joined by the server; the
    redaction is its own event, with the admin's reason."""
    moderator = await with_moderator(hs)
    root = await hs.register_user("root", admin=True)
    bob, room_id, event_id = await abandoned_room(hs, version)

    resp = await root.post(
        f"/_bastion/admin/v1/rooms/{room_id}/events/{event_id}/redact", json={"reason": "spam"}
    )
    assert resp.status_code == 200, resp.text
    redaction_id = resp.json()["event_id"]

    seen = await seen_by(bob, room_id, event_id)
    assert seen["content"] == {}
    because = seen["unsigned"]["redacted_because"]
    assert (because["event_id"], because["sender"]) == (redaction_id, moderator)
    assert because["content"]["reason"] == "spam"
    member = await bob.get(f"/rooms/{room_id}/state/m.room.member/{moderator}")
    assert member.json()["membership"] == "join"
    assert await audit_rows(hs, "event.redact") == [("success", event_id)]
    assert await audit_rows(hs, "room.promote") == []  # it had the power already


@pytest.mark.parametrize("version", VERSIONS)
async def test_in_an_older_room_it_is_promoted_by_a_member_with_power(
    hs: Homeserver, version: str
) -> None:
    """A room made before the policy named a moderation account: the account has no power, so
    it is promoted to 100 by a joined member who has it (`room.promote`), then redacts."""
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat", room_version=version)
    await bob.join(room_id)
    event_id = await bob.send_text(room_id, "rude")
    moderator = await with_moderator(hs)
    root = await hs.register_user("root", admin=True)

    resp = await root.post(f"/_bastion/admin/v1/rooms/{room_id}/events/{event_id}/redact", json={})
    assert resp.status_code == 200, resp.text

    assert (await seen_by(bob, room_id, event_id))["content"] == {}
    levels = (await bob.get(f"/rooms/{room_id}/state/m.room.power_levels/")).json()
    assert levels["users"][moderator] == 100
    assert await audit_rows(hs, "room.promote") == [("success", room_id)]


@pytest.mark.parametrize("version", VERSIONS)
async def test_an_older_room_with_no_admin_left_cannot_be_moderated(
    hs: Homeserver, version: str
) -> None:
    """What cannot work, and why: a room made before the policy, whose only admin left (v10/v11:
    nobody joined has power 100; v12: the creator left, still a creator, but only a joined
    member can send events). No joined member can grant power, and the server forges nothing:
    403 M_FORBIDDEN, and nothing is written (the account is not even joined)."""
    bob, room_id, event_id = await abandoned_room(hs, version)
    moderator = await with_moderator(hs)
    root = await hs.register_user("root", admin=True)

    resp = await root.post(f"/_bastion/admin/v1/rooms/{room_id}/events/{event_id}/redact", json={})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert (await seen_by(bob, room_id, event_id))["content"]["body"] == "something that must go"
    member = await bob.get(f"/rooms/{room_id}/state/m.room.member/{moderator}")
    assert member.status_code == 404
    assert await audit_rows(hs, "event.redact") == [("failure", event_id)]


async def test_a_public_room_is_joined_without_an_invite(hs: Homeserver) -> None:
    """A public room needs no inviter: even with every member gone, the account joins itself
    (it is a creator of this v12 room) and redacts."""
    moderator = await with_moderator(hs)
    root = await hs.register_user("root", admin=True)
    bob, room_id, event_id = await abandoned_room(hs, "12", preset="public_chat")
    assert (await bob.post(f"/rooms/{room_id}/leave", json={})).status_code == 200

    resp = await root.post(f"/_bastion/admin/v1/rooms/{room_id}/events/{event_id}/redact", json={})
    assert resp.status_code == 200, resp.text
    rows = await hs.runtime.db.fetch_all(
        "SELECT sender FROM events WHERE room_id = ? AND type = 'm.room.member'"
        " AND state_key = ?",
        room_id, moderator,
    )  # fmt: skip
    assert [r[0] for r in rows] == [moderator]  # a join by itself, no invite


async def test_a_banned_moderation_account_is_refused(hs: Homeserver) -> None:
    """The server does not unban its own account: that is the room's decision (403). (A room
    made before the policy: in a newer one the account outranks anyone who could ban it.)"""
    root = await hs.register_user("root", admin=True)
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat", room_version="11")
    await bob.join(room_id)
    event_id = await bob.send_text(room_id, "x")
    moderator = f"@{MODERATOR}:{hs.server_name}"
    resp = await alice.post(f"/rooms/{room_id}/ban", json={"user_id": moderator})
    assert resp.status_code == 200, resp.text
    await with_moderator(hs)
    resp = await root.post(f"/_bastion/admin/v1/rooms/{room_id}/events/{event_id}/redact", json={})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert "banned" in resp.json()["error"]
    assert await audit_rows(hs, "room.promote") == []  # refused before any promotion


async def test_unknown_events_and_rooms_are_404(hs: Homeserver) -> None:
    """An event that is not in the room named is 404 M_NOT_FOUND."""
    await with_moderator(hs)
    root = await hs.register_user("root", admin=True)
    bob, room_id, event_id = await abandoned_room(hs, "12")
    other = await bob.create_room()
    for path in (f"{room_id}/events/$missing", f"{other}/events/{event_id}"):
        resp = await root.post(f"/_bastion/admin/v1/rooms/{path}/redact", json={})
        assert errcode(resp) == (404, "M_NOT_FOUND"), path
