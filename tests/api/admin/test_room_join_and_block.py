"""Synapse's Edit Room Membership and Block Room admin APIs (services/rooms/room_entry.py,
services/admin/room_blocks.py; docs/admin-api.md#rooms).

Synapse's docs: "This API allows an administrator to join a user account with a given `user_id`
to a room with a given `room_id_or_alias`. You can only modify the membership of local users";
the answer is `{"room_id"}`. Bastion holds no power in rooms of its own: a room that is not
public is entered by invitation from a local member with the power to invite, then the user's
own join. Block: "Users will be prevented from joining a blocked room", "This API can be used to
pre-emptively block a room, even if it's unknown to this homeserver"; `GET` answers `{"block":
true, "user_id": <who blocked it>}` or `{"block": false}`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx

from tests.conftest import Homeserver, UserClient, errcode

ADMIN = "/_synapse/admin/v1"


async def admin_join(
    hs: Homeserver, admin: UserClient, room: str, body: Any, *, raw: bytes | None = None
) -> httpx.Response:
    content = raw if raw is not None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {admin.token}"}
    return await hs.http.post(
        f"{ADMIN}/join/{quote(room, safe='')}", content=content, headers=headers
    )


async def member_event(user: UserClient, room_id: str, user_id: str) -> dict[str, Any]:
    resp = await user.get(
        f"/rooms/{room_id}/state/m.room.member/{user_id}", params={"format": "event"}
    )
    assert resp.status_code == 200, resp.text
    event: dict[str, Any] = resp.json()
    return event


async def audit(hs: Homeserver, action: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    rows = await hs.runtime.db.fetch_all(
        "SELECT actor, target, outcome, details FROM audit_log WHERE action = ? ORDER BY seq",
        action,
    )
    return [(r[0], r[1], r[2], json.loads(r[3])) for r in rows]


async def test_an_admin_joins_a_user_to_a_public_room_by_id_or_alias(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat", room_alias_name="all-staff")

    resp = await admin_join(hs, root, f"#all-staff:{hs.server_name}", {"user_id": bob.user_id})
    assert (resp.status_code, resp.json()) == (200, {"room_id": room_id})
    event = await member_event(alice, room_id, bob.user_id)
    assert (event["sender"], event["content"]["membership"]) == (bob.user_id, "join")
    # No invite was needed: the join is bob's own, and bob's client sees the room.
    assert "prev_content" not in event.get("unsigned", {})
    assert room_id in (await bob.sync())["rooms"]["join"]
    # Asking again changes nothing.
    again = await admin_join(hs, root, room_id, {"user_id": bob.user_id})
    assert (again.status_code, again.json()) == (200, {"room_id": room_id})
    records = await audit(hs, "room.force_join")
    assert [(r[0], r[1], r[2], r[3]["outcome"]) for r in records] == [
        (root.user_id, room_id, "success", "joined"),
        (root.user_id, room_id, "success", "already joined"),
    ]


async def test_a_private_room_is_entered_through_the_member_with_the_most_power(
    hs: Homeserver,
) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    carol = await hs.register_user("carol")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(
        preset="private_chat",
        invite=[carol.user_id],
        # carol may invite too; alice, the creator, has more power than any level
        power_level_content_override={"invite": 50, "users": {carol.user_id: 50}},
    )
    await carol.join(room_id)

    resp = await admin_join(hs, root, room_id, {"user_id": bob.user_id})
    assert (resp.status_code, resp.json()) == (200, {"room_id": room_id})
    event = await member_event(alice, room_id, bob.user_id)
    assert (event["sender"], event["content"]["membership"]) == (bob.user_id, "join")
    assert event["unsigned"]["prev_content"]["membership"] == "invite"
    invite_sender = event["unsigned"]["prev_sender"]
    assert invite_sender == alice.user_id  # the most powerful of those who may invite
    # The admin never entered the room.
    rooms = (await root.get("/joined_rooms")).json()["joined_rooms"]
    assert room_id not in rooms


async def test_refusals_are_clear_and_audited(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    gone = await hs.register_user("gone")
    room_id = await alice.create_room(preset="private_chat")
    orphan = await alice.create_room(preset="private_chat")
    assert (await alice.post(f"/rooms/{orphan}/leave", json={})).status_code == 200
    deactivated = await hs.http.post(
        f"/_synapse/admin/v1/deactivate/{gone.user_id}",
        json={},
        headers={"Authorization": f"Bearer {root.token}"},
    )
    assert deactivated.status_code == 200, deactivated.text
    ban = await alice.post(f"/rooms/{room_id}/ban", json={"user_id": bob.user_id})
    assert ban.status_code == 200

    for room, body, expected in (
        (room_id, {"user_id": "@someone:elsewhere.example"}, (400, "M_INVALID_PARAM")),
        (room_id, {"user_id": "not a user"}, (400, "M_INVALID_PARAM")),
        (room_id, {"user_id": f"@nobody:{hs.server_name}"}, (404, "M_NOT_FOUND")),
        (room_id, {"user_id": gone.user_id}, (400, "M_INVALID_PARAM")),
        ("!unknown:elsewhere", {"user_id": alice.user_id}, (404, "M_NOT_FOUND")),
        (f"#nowhere:{hs.server_name}", {"user_id": alice.user_id}, (404, "M_NOT_FOUND")),
        (room_id, {}, (400, "M_MISSING_PARAM")),
        (room_id, {"user_id": 7}, (400, "M_BAD_JSON")),
        (room_id, {"user_id": bob.user_id}, (403, "M_FORBIDDEN")),  # banned
        (orphan, {"user_id": bob.user_id}, (403, "M_FORBIDDEN")),  # nobody here can invite
    ):
        resp = await admin_join(hs, root, room, body)
        assert errcode(resp) == expected, (room, body, resp.text)
    not_json = await admin_join(hs, root, room_id, None, raw=b"{user_id")
    assert errcode(not_json) == (400, "M_NOT_JSON")
    refused = await admin_join(hs, alice, room_id, {"user_id": alice.user_id})
    assert errcode(refused) == (403, "M_FORBIDDEN")
    failures = [r for r in await audit(hs, "room.force_join") if r[2] == "failure"]
    assert len(failures) == 8  # every refusal of a well-formed request
    assert failures[-1][3]["errcode"] == "M_FORBIDDEN"
    left_alone = await hs.runtime.db.fetch_val(
        "SELECT COUNT(*) FROM memberships WHERE room_id = ? AND user_id = ?", orphan, bob.user_id
    )
    assert left_alone == 0


async def test_a_join_refused_after_the_invitation_leaves_no_invitation(hs: Homeserver) -> None:
    """A suspended account may be invited (the inviter acts) but may not join: the admin's
    join is refused with the suspension's error, and the invitation sent for it is declined
    at once, so the person is not left with an invite nobody meant them to act on."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    dave = await hs.register_user("dave")
    room_id = await alice.create_room(preset="private_chat")
    headers = {"Authorization": f"Bearer {root.token}"}
    suspended = await hs.http.put(
        f"{ADMIN}/suspend/{dave.user_id}", json={"suspend": True}, headers=headers
    )
    assert suspended.status_code == 200, suspended.text

    refused = await admin_join(hs, root, room_id, {"user_id": dave.user_id})
    assert errcode(refused) == (403, "M_USER_SUSPENDED")
    event = await member_event(alice, room_id, dave.user_id)
    assert event["content"]["membership"] == "leave"
    assert event["sender"] == dave.user_id  # his own decline, as any invitee may
    assert room_id not in (await dave.sync()).get("rooms", {}).get("invite", {})
    assert [r[2] for r in await audit(hs, "room.force_join")] == ["failure"]


async def test_a_blocked_room_keeps_every_local_user_out_until_unblocked(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    path = f"{ADMIN}/rooms/{room_id}/block"

    assert (await root.get(path)).json() == {"block": False}
    resp = await root.put(path, json={"block": True})
    assert (resp.status_code, resp.json()) == (200, {"block": True})
    assert (await root.get(path)).json() == {"block": True, "user_id": root.user_id}
    # Joining, an invitation, an admin's join: all refused; alice, already in, stays.
    assert errcode(await bob.post(f"/rooms/{room_id}/join", json={})) == (403, "M_FORBIDDEN")
    invite = await alice.post(f"/rooms/{room_id}/invite", json={"user_id": bob.user_id})
    assert errcode(invite) == (403, "M_FORBIDDEN")
    forced = await admin_join(hs, root, room_id, {"user_id": bob.user_id})
    assert errcode(forced) == (403, "M_FORBIDDEN")
    assert (await alice.send_text(room_id, "still here")).startswith("$")
    # Blocking again records nothing new.
    await root.put(path, json={"block": True})

    resp = await root.put(path, json={"block": False})
    assert (resp.status_code, resp.json()) == (200, {"block": False})
    assert (await root.get(path)).json() == {"block": False}
    assert (await bob.post(f"/rooms/{room_id}/join", json={})).status_code == 200
    blocks = await audit(hs, "room.block")
    unblocks = await audit(hs, "room.unblock")
    assert [(r[0], r[1]) for r in blocks] == [(root.user_id, room_id)]
    assert [(r[0], r[1], r[3]["blocked_by"]) for r in unblocks] == [
        (root.user_id, room_id, root.user_id)
    ]


async def test_a_room_not_known_here_can_be_blocked_in_advance(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    future = "!notyetknown:elsewhere.example"
    resp = await root.put(f"{ADMIN}/rooms/{future}/block", json={"block": True})
    assert (resp.status_code, resp.json()) == (200, {"block": True})
    assert (await root.get(f"{ADMIN}/rooms/{future}/block")).json()["block"] is True
    for room, body, expected in (
        ("not-a-room", {"block": True}, (400, "M_INVALID_PARAM")),
        (future, {}, (400, "M_MISSING_PARAM")),
        (future, {"block": "yes"}, (400, "M_BAD_JSON")),
    ):
        resp = await root.put(f"{ADMIN}/rooms/{room}/block", json=body)
        assert errcode(resp) == expected, (room, body)
    assert errcode(await root.get(f"{ADMIN}/rooms/not-a-room/block")) == (400, "M_INVALID_PARAM")


async def test_only_admins(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(preset="public_chat")
    headers = {"Authorization": f"Bearer {alice.token}"}
    for method, path, body in (
        ("POST", f"/join/{room_id}", {"user_id": alice.user_id}),
        ("GET", f"/rooms/{room_id}/block", None),
        ("PUT", f"/rooms/{room_id}/block", {"block": True}),
    ):
        resp = await hs.http.request(method, ADMIN + path, json=body, headers=headers)
        assert errcode(resp) == (403, "M_FORBIDDEN"), path
    assert (await hs.runtime.db.fetch_val("SELECT COUNT(*) FROM blocked_rooms")) == 0


async def test_an_admins_join_passes_the_users_invite_blocking_but_nobody_elses_invite_does(
    hs: Homeserver,
) -> None:
    """Invite blocking (spec v1.18) stops people's invitations; the invitation that is one step
    of the organisation putting someone in a room is not one."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    blocked = await bob.put(
        f"/user/{bob.user_id}/account_data/m.invite_permission_config",
        json={"default_action": "block"},
    )
    assert blocked.status_code == 200
    team = await alice.create_room(preset="private_chat")
    other = await alice.create_room(preset="private_chat")
    invite = await alice.post(f"/rooms/{other}/invite", json={"user_id": bob.user_id})
    assert errcode(invite) == (403, "M_INVITE_BLOCKED")

    resp = await admin_join(hs, root, team, {"user_id": bob.user_id})
    assert (resp.status_code, resp.json()) == (200, {"room_id": team})
    assert (await member_event(alice, team, bob.user_id))["content"]["membership"] == "join"
    # The exemption ended with the join: alice's next invitation is refused again.
    invite = await alice.post(f"/rooms/{other}/invite", json={"user_id": bob.user_id})
    assert errcode(invite) == (403, "M_INVITE_BLOCKED")
