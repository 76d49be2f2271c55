"""matrix-nio sees a room member's new display name and avatar without asking for profiles.

spec: client-server-api#events-on-change-of-profile-information: "an m.room.member event (with a
join membership) is sent to every room the user is a member of, to update the displayname and
avatar_url." nio builds its member list (`MatrixRoom.users`) from those events alone.
"""

from __future__ import annotations

from nio import (
    JoinResponse,
    ProfileGetResponse,
    ProfileSetAvatarResponse,
    ProfileSetDisplayNameResponse,
    RoomCreateResponse,
    RoomInviteResponse,
)

from tests.clients.nio_fixtures import NioFactory, log_in, nio_request, sync
from tests.clients.server import BastionServer

AVATAR = "mxc://test.bastion/alicepic"


async def test_member_list_follows_profile_changes(
    bastion_server: BastionServer, nio_client: NioFactory
) -> None:
    alice_id = bastion_server.create_user("alice")
    bastion_server.create_user("bob")
    alice, bob = nio_client("alice"), nio_client("bob")
    await log_in(alice, "alice's nio")
    await log_in(bob, "bob's nio")
    created = await alice.room_create()
    assert isinstance(created, RoomCreateResponse), created
    room_id = created.room_id
    assert bob.user_id is not None
    invited = await alice.room_invite(room_id, bob.user_id)
    assert isinstance(invited, RoomInviteResponse), invited
    joined = await bob.join(room_id)
    assert isinstance(joined, JoinResponse), joined
    await sync(bob)
    assert bob.rooms[room_id].users[alice_id].display_name == "alice"

    named = await alice.set_displayname("Alice Liddell")
    assert isinstance(named, ProfileSetDisplayNameResponse), named
    await sync(bob)
    assert bob.rooms[room_id].users[alice_id].display_name == "Alice Liddell"
    assert bob.rooms[room_id].user_name(alice_id) == "Alice Liddell"

    pictured = await alice.set_avatar(AVATAR)
    assert isinstance(pictured, ProfileSetAvatarResponse), pictured
    await sync(bob)
    assert bob.rooms[room_id].users[alice_id].avatar_url == AVATAR
    assert bob.rooms[room_id].users[alice_id].display_name == "Alice Liddell"


async def test_nio_reads_extended_profile_fields(
    bastion_server: BastionServer, nio_client: NioFactory
) -> None:
    """spec v1.16: GET /profile/{userId} has "additionalProperties: Additional profile fields";
    nio keeps what is not a display name or avatar in `other_info`."""
    alice_id = bastion_server.create_user("alice")
    bastion_server.create_user("bob")
    alice, bob = nio_client("alice"), nio_client("bob")
    await log_in(alice, "alice's nio")
    await log_in(bob, "bob's nio")
    for name, value in (("m.tz", "Asia/Riyadh"), ("org.example.department", "Radiologia")):
        status, body = await nio_request(
            alice, "PUT", f"/_matrix/client/v3/profile/{alice_id}/{name}", {name: value}
        )
        assert (status, body) == (200, {}), body

    profile = await bob.get_profile(alice_id)
    assert isinstance(profile, ProfileGetResponse), profile
    assert profile.displayname == "alice"
    assert profile.other_info == {"m.tz": "Asia/Riyadh", "org.example.department": "Radiologia"}
