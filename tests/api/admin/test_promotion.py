"""Room promotion (`RoomPromoter.promote`) and Synapse's make_room_admin on top of it.

Issue #12: "`make_room_admin`-style promotion through a local member with power for existing
rooms"; "Room version 12 ... gives a room's creators ... unlimited power that no one can lower:
count creators as admins everywhere"; "Test every governance rule in v10/v11 rooms and in v12
rooms."

Synapse's Make Room Admin API: "Grants another user the highest power available to a local user
who is in the room. If the user is not in the room, and it is not publicly joinable, then invite
the user. By default the server admin (the caller) is granted power, but another user can
optionally be specified".
"""

from __future__ import annotations

from typing import Any

import pytest

from bastion.errors import MatrixError
from bastion.services.principal import Requester
from tests.conftest import OPERATOR, Homeserver, UserClient, errcode

VERSIONS = ["9", "10", "11", "12"]


async def _levels(client: UserClient, room_id: str) -> dict[str, Any]:
    resp = await client.get(f"/rooms/{room_id}/state/m.room.power_levels/")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def _set_levels(client: UserClient, room_id: str, content: dict[str, Any]) -> None:
    resp = await client.put(f"/rooms/{room_id}/state/m.room.power_levels/", json=content)
    assert resp.status_code == 200, resp.text


async def _audit_actions(hs: Homeserver, action: str) -> list[tuple[str, str]]:
    rows = await hs.runtime.db.fetch_all(
        "SELECT outcome, target FROM audit_log WHERE action = ? ORDER BY seq", action
    )
    return [(r[0], r[1]) for r in rows]


@pytest.mark.parametrize("version", VERSIONS)
async def test_an_admin_outside_an_invite_only_room_is_invited_and_made_admin(
    hs: Homeserver, version: str
) -> None:
    """ "If the user is not in the room ... then invite the user"; the grantor is the creator."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(preset="private_chat", room_version=version)

    resp = await root.post(f"/_synapse/admin/v1/rooms/{room_id}/make_room_admin", json={})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {}

    await root.join(room_id)  # the room is invite-only: the invite is what lets root in
    assert (await _levels(alice, room_id))["users"][root.user_id] == 100
    assert await _audit_actions(hs, "room.promote") == [("success", room_id)]


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_member_is_promoted_without_an_invite(hs: Homeserver, version: str) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat", room_version=version)
    await bob.join(room_id)

    promotion = await hs.runtime.services.promoter.promote(OPERATOR, room_id, bob.user_id)

    assert promotion.granted_by == alice.user_id
    assert not promotion.invited
    assert promotion.power_event_id is not None
    levels = await _levels(bob, room_id)
    assert levels["users"][bob.user_id] == 100
    if version != "12":
        assert levels["users"][alice.user_id] == 100  # nobody else's level moved


async def test_promoting_a_v12_creator_is_a_no_op(hs: Homeserver) -> None:
    """rooms/v12: creators have infinite power; `users` may not list them."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(room_version="12")
    before = await _levels(alice, room_id)

    promotion = await hs.runtime.services.promoter.promote(OPERATOR, room_id, alice.user_id)

    assert promotion.power_event_id is None
    assert promotion.granted_by is None
    assert await _levels(alice, room_id) == before


async def test_a_v12_additional_creator_grants_when_the_sender_left(hs: Homeserver) -> None:
    """A v12 creator first: an additional creator still in the room acts."""
    alice = await hs.register_user("alice")
    carol = await hs.register_user("carol")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(
        preset="public_chat",
        room_version="12",
        creation_content={"additional_creators": [carol.user_id]},
    )
    await carol.join(room_id)
    await bob.join(room_id)
    assert (await alice.post(f"/rooms/{room_id}/leave", json={})).status_code == 200

    promotion = await hs.runtime.services.promoter.promote(OPERATOR, room_id, bob.user_id)

    assert promotion.granted_by == carol.user_id
    assert (await _levels(bob, room_id))["users"][bob.user_id] == 100


@pytest.mark.parametrize("version", ["9", "10", "11"])
async def test_the_highest_powered_member_grants_once_the_creator_left(
    hs: Homeserver, version: str
) -> None:
    alice = await hs.register_user("alice")
    carol = await hs.register_user("carol")
    dave = await hs.register_user("dave")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat", room_version=version)
    for member in (carol, dave, bob):
        await member.join(room_id)
    levels = await _levels(alice, room_id)
    levels["users"].update({carol.user_id: 100, dave.user_id: 60})
    await _set_levels(alice, room_id, levels)
    assert (await alice.post(f"/rooms/{room_id}/leave", json={})).status_code == 200

    promotion = await hs.runtime.services.promoter.promote(OPERATOR, room_id, bob.user_id)

    assert promotion.granted_by == carol.user_id


@pytest.mark.parametrize("version", VERSIONS)
async def test_no_local_member_with_power_is_403_naming_the_room(
    hs: Homeserver, version: str
) -> None:
    """ "If no local member has the power: 403 M_FORBIDDEN naming the room" (the brief)."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat", room_version=version)
    await bob.join(room_id)
    levels = await _levels(alice, room_id)
    levels["users"][bob.user_id] = 50
    await _set_levels(alice, room_id, levels)
    assert (await alice.post(f"/rooms/{room_id}/leave", json={})).status_code == 200

    resp = await root.post(
        f"/_synapse/admin/v1/rooms/{room_id}/make_room_admin", json={"user_id": bob.user_id}
    )

    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert room_id in resp.json()["error"]
    assert (await _levels(bob, room_id))["users"][bob.user_id] == 50
    assert await _audit_actions(hs, "room.promote") == [("failure", room_id)]


async def test_a_lower_level_is_granted_by_a_member_with_enough_power(hs: Homeserver) -> None:
    """`level` below 100 (a moderator): any member at or above it who may change power levels."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat", room_version="11")
    await bob.join(room_id)

    await hs.runtime.services.promoter.promote(OPERATOR, room_id, bob.user_id, level=50)

    assert (await _levels(bob, room_id))["users"][bob.user_id] == 50


async def test_make_room_admin_accepts_an_alias(hs: Homeserver) -> None:
    """`POST /_synapse/admin/v1/rooms/<room_id_or_alias>/make_room_admin`."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(room_alias_name="wards", room_version="11")

    resp = await root.post(
        f"/_synapse/admin/v1/rooms/%23wards:{hs.server_name}/make_room_admin", json={}
    )

    assert resp.status_code == 200, resp.text
    await root.join(room_id)
    assert (await _levels(alice, room_id))["users"][root.user_id] == 100


async def test_unknown_room_and_unknown_user_are_404(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    room_id = await root.create_room()
    unknown_room = await root.post(
        f"/_synapse/admin/v1/rooms/!nope:{hs.server_name}/make_room_admin", json={}
    )
    assert errcode(unknown_room) == (404, "M_NOT_FOUND")
    unknown_user = await root.post(
        f"/_synapse/admin/v1/rooms/{room_id}/make_room_admin",
        json={"user_id": f"@ghost:{hs.server_name}"},
    )
    assert errcode(unknown_user) == (404, "M_NOT_FOUND")


async def test_a_non_admin_is_refused(hs: Homeserver) -> None:
    """Issue #12: "Only server admins (403 `M_FORBIDDEN` otherwise, tested for every route"."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    resp = await alice.post(f"/_synapse/admin/v1/rooms/{room_id}/make_room_admin", json={})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    requester = Requester(alice.user_id, alice.device_id, is_admin=False)
    with pytest.raises(MatrixError) as refused:
        await hs.runtime.services.promoter.promote(requester, room_id, alice.user_id)
    assert refused.value.errcode == "M_FORBIDDEN"
