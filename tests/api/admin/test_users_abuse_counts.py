"""Synapse's abuse signals about one account (docs/admin_api/user_admin_api.md): "Get the number
of invites sent by the user": `GET /_synapse/admin/v1/users/<user_id>/sent_invite_count`, "Only
invites sent at or after the provided timestamp" (`from_ts`, required), answering `invite_count`;
and "the number of rooms that the user joined after the given timestamp, even if they have
subsequently left/been banned from those rooms": `.../cumulative_joined_room_count`, answering
`cumulative_joined_room_count`."""

from __future__ import annotations

from urllib.parse import quote

from tests.conftest import Homeserver, UserClient, errcode

ADMIN = "/_synapse/admin/v1/users"


async def counted(admin: UserClient, user_id: str, what: str, from_ts: int) -> int:
    resp = await admin.get(f"{ADMIN}/{quote(user_id)}/{what}", params={"from_ts": str(from_ts)})
    assert resp.status_code == 200, resp.text
    field = "invite_count" if what == "sent_invite_count" else what
    assert list(resp.json()) == [field]
    value: int = resp.json()[field]
    return value


async def test_invites_sent_since_a_time(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob, carol, dave = [await hs.register_user(name) for name in ("bob", "carol", "dave")]
    start = hs.clock.now_ms()
    room_id = await alice.create_room(invite=[bob.user_id])  # one invite, at creation
    await alice.post(f"/rooms/{room_id}/invite", json={"user_id": carol.user_id})
    hs.clock.advance(60)
    later = hs.clock.now_ms()
    await alice.post(f"/rooms/{room_id}/invite", json={"user_id": dave.user_id})
    await bob.join(room_id)  # bob's join: not an invite of alice's, nor of his

    assert await counted(root, alice.user_id, "sent_invite_count", start) == 3
    assert await counted(root, alice.user_id, "sent_invite_count", later) == 1
    assert await counted(root, bob.user_id, "sent_invite_count", start) == 0
    assert await counted(root, f"@nobody:{hs.server_name}", "sent_invite_count", start) == 0


async def test_rooms_joined_since_a_time_left_or_not(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    rooms = [await alice.create_room(preset="public_chat") for _ in range(4)]
    await bob.join(rooms[0])
    hs.clock.advance(60)
    since = hs.clock.now_ms()
    for room_id in rooms[1:]:
        await bob.join(room_id)
    assert (await bob.post(f"/rooms/{rooms[1]}/leave", json={})).status_code == 200
    # A display name change is a join event again in every room: the rooms count once.
    assert (
        await bob.put(f"/profile/{bob.user_id}/displayname", json={"displayname": "B"})
    ).status_code == 200

    assert await counted(root, bob.user_id, "cumulative_joined_room_count", since) == 3
    assert await counted(root, bob.user_id, "cumulative_joined_room_count", 0) == 4
    # Removed by someone else, then back: a join again (the one before it was not his own).
    kick = await alice.post(f"/rooms/{rooms[0]}/kick", json={"user_id": bob.user_id})
    assert kick.status_code == 200, kick.text
    await bob.join(rooms[0])
    assert await counted(root, bob.user_id, "cumulative_joined_room_count", since) == 4


async def test_refusals(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    for what in ("sent_invite_count", "cumulative_joined_room_count"):
        path = f"{ADMIN}/{quote(alice.user_id)}/{what}"
        assert errcode(await root.get(path)) == (400, "M_MISSING_PARAM")
        assert errcode(await root.get(path, params={"from_ts": "soon"})) == (400, "M_INVALID_PARAM")
        assert errcode(await root.get(path, params={"from_ts": "1e99"})) == (400, "M_INVALID_PARAM")
        not_a_user = f"{ADMIN}/alice/{what}"
        assert errcode(await root.get(not_a_user, params={"from_ts": "0"})) == (
            400,
            "M_INVALID_PARAM",
        )
        assert errcode(await alice.get(path, params={"from_ts": "0"})) == (403, "M_FORBIDDEN")
