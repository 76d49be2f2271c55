"""Invite blocking (spec v1.18, client-server-api#invite-permission).

"When invites to a given user are blocked, the user's homeserver MUST respond to the following
endpoints with an HTTP 403 status code, with the Matrix error code `M_INVITE_BLOCKED`, if the
user is invited: ... POST /rooms/{roomId}/invite; POST /createRoom, due to a user in the
`invite` list ...; PUT /rooms/{roomId}/state/m.room.member/{stateKey}, when the `membership` is
set to `invite`." "invite events for this user already in the database ... MUST NOT be served
over client synchronisation endpoints such as GET /sync." "Other endpoints, such as
GET /rooms/{roomId}/state, are not affected." The event: "When set to `block`, the user does not
wish to receive *any* room invites ... A missing, invalid or unsupported value means that the
user wants to receive invites as normal."
"""

from __future__ import annotations

from typing import Any

from tests.conftest import Homeserver, UserClient, errcode

CONFIG = "m.invite_permission_config"
SS = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"


async def set_config(user: UserClient, content: dict[str, Any]) -> None:
    resp = await user.put(f"/user/{user.user_id}/account_data/{CONFIG}", json=content)
    assert resp.status_code == 200, resp.text


async def invited(user: UserClient) -> set[str]:
    return set((await user.sync()).get("rooms", {}).get("invite", {}))


async def sliding_invites(hs: Homeserver, user: UserClient) -> set[str]:
    body = {"lists": {"all": {"ranges": [[0, 99]], "timeline_limit": 1}}}
    resp = await hs.http.post(
        SS, params={"timeout": "0"}, json=body, headers={"Authorization": f"Bearer {user.token}"}
    )
    assert resp.status_code == 200, resp.text
    rooms: dict[str, Any] = resp.json().get("rooms", {})
    return {room_id for room_id, room in rooms.items() if "invite_state" in room}


async def test_invites_to_a_user_who_blocks_them_are_refused(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room = await alice.create_room(name="Ward")
    await set_config(bob, {"default_action": "block"})

    resp = await alice.post(f"/rooms/{room}/invite", json={"user_id": bob.user_id})
    assert errcode(resp) == (403, "M_INVITE_BLOCKED")
    resp = await alice.put(
        f"/rooms/{room}/state/m.room.member/{bob.user_id}", json={"membership": "invite"}
    )
    assert errcode(resp) == (403, "M_INVITE_BLOCKED")
    before = (await alice.get("/joined_rooms")).json()["joined_rooms"]
    resp = await alice.post("/createRoom", json={"invite": [carol.user_id, bob.user_id]})
    assert errcode(resp) == (403, "M_INVITE_BLOCKED")
    # Nothing was created: no room with carol invited and bob silently missing.
    assert (await alice.get("/joined_rooms")).json()["joined_rooms"] == before
    assert await invited(carol) == set()
    assert await invited(bob) == set()
    # Others are invited as usual.
    assert (await alice.post(f"/rooms/{room}/invite", json={"user_id": carol.user_id})).is_success

    # A value other than exactly "block" takes invites as normal.
    for content in ({"default_action": "allow"}, {"default_action": "BLOCK"}, {}):
        await set_config(bob, content)
        other = await alice.create_room(invite=[bob.user_id])
        assert other in await invited(bob)


async def test_invites_already_received_are_hidden_while_blocked(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room = await alice.create_room(name="Ward", invite=[bob.user_id])
    assert await invited(bob) == {room}
    assert await sliding_invites(hs, bob) == {room}

    await set_config(bob, {"default_action": "block"})
    assert await invited(bob) == set()
    assert await sliding_invites(hs, bob) == set()
    # Room state is not affected: the inviter still sees the invite.
    state = (await alice.get(f"/rooms/{room}/state/m.room.member/{bob.user_id}")).json()
    assert state["membership"] == "invite"

    await set_config(bob, {})
    assert await invited(bob) == {room}
    assert await sliding_invites(hs, bob) == {room}


async def test_server_notices_still_reach_a_user_who_blocks_invites(hs: Homeserver) -> None:
    """The server's own notices account is exempt (services/invite_permission.py): an
    organisation's notice is not a person's invite."""
    admin = await hs.register_user("root", admin=True)
    bob = await hs.register_user("bob")
    await set_config(bob, {"default_action": "block"})
    notice = {"msgtype": "m.text", "body": "Maintenance tonight at 22:00"}
    resp = await admin.post(
        "/_synapse/admin/v1/send_server_notice", json={"user_id": bob.user_id, "content": notice}
    )
    assert resp.status_code == 200, resp.text
    assert len(await invited(bob)) == 1
