"""The organisation policy's `rooms.max_admins` and `rooms.moderator`, enforced on the events
themselves (issue #12 §4), in v10, v11 and v12 rooms, through the HTTP API.

Issue #12: "`rooms.max_admins` (a power-level change that would give more users power 100 than
this is refused with 403 `M_FORBIDDEN` and a message naming the limit; createRoom presets
included)"; "count creators as admins everywhere (inventory, `max_admins`, successors)"; "the
policy can make the moderation account an additional creator of every new room, which gives the
organisation lasting power in its rooms".
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Homeserver, UserClient, errcode

POLICY = "/_bastion/admin/v1/policy"
VERSIONS = ["9", "10", "11", "12"]


async def set_policy(admin: UserClient, **rooms: Any) -> None:
    resp = await admin.put(POLICY, json={"rooms": rooms})
    assert resp.status_code == 200, resp.text


async def power_levels(client: UserClient, room_id: str) -> dict[str, Any]:
    resp = await client.get(f"/rooms/{room_id}/state/m.room.power_levels/")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def put_power_levels(
    client: UserClient, room_id: str, content: dict[str, Any]
) -> tuple[int, str | None]:
    resp = await client.put(f"/rooms/{room_id}/state/m.room.power_levels/", json=content)
    if resp.status_code == 200:
        return 200, None
    return errcode(resp)


async def create_event(client: UserClient, room_id: str) -> dict[str, Any]:
    resp = await client.get(f"/rooms/{room_id}/state/m.room.create/")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_power_level_change_beyond_the_limit_is_refused_naming_it(
    hs: Homeserver, version: str
) -> None:
    """A change that would give more users power 100 than `max_admins` is 403 M_FORBIDDEN with a
    message naming the limit; creators count as admins (v12)."""
    root = await hs.register_user("root", admin=True)
    await set_policy(root, max_admins=2)
    alice = await hs.register_user("alice")
    for name in ("bob", "carol"):
        await hs.register_user(name)
    room_id = await alice.create_room(room_version=version)
    levels = await power_levels(alice, room_id)
    bob, carol = f"@bob:{hs.server_name}", f"@carol:{hs.server_name}"
    levels["users"] = {**levels["users"], bob: 100}
    assert await put_power_levels(alice, room_id, levels) == (200, None)  # alice + bob
    levels["users"] = {**levels["users"], carol: 100}
    resp = await alice.put(f"/rooms/{room_id}/state/m.room.power_levels/", json=levels)
    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert "at most 2 admins" in resp.json()["error"]
    assert carol not in (await power_levels(alice, room_id))["users"]


@pytest.mark.parametrize("version", VERSIONS)
async def test_users_default_of_100_is_refused_under_a_limit(hs: Homeserver, version: str) -> None:
    """`users_default` 100 would give every member power 100: more admins than any limit."""
    root = await hs.register_user("root", admin=True)
    await set_policy(root, max_admins=3)
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(room_version=version)
    levels = await power_levels(alice, room_id)
    assert await put_power_levels(alice, room_id, {**levels, "users_default": 100}) == (
        403,
        "M_FORBIDDEN",
    )


@pytest.mark.parametrize("version", VERSIONS)
async def test_trusted_private_chat_preset_counts_its_invitees(
    hs: Homeserver, version: str
) -> None:
    """createRoom presets included: `trusted_private_chat` gives every invitee the creator's
    power (v10/v11: 100 in the power levels; v12: additional creators)."""
    root = await hs.register_user("root", admin=True)
    await set_policy(root, max_admins=2)
    alice = await hs.register_user("alice")
    invite = [await hs.create_user(name) for name in ("bob", "carol")]
    body = {"room_version": version, "preset": "trusted_private_chat", "invite": invite}
    resp = await alice.post("/createRoom", json=body)
    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert "at most 2 admins" in resp.json()["error"]
    # One invitee is within the limit.
    await alice.create_room(**{**body, "invite": invite[:1]})


@pytest.mark.parametrize("version", VERSIONS)
async def test_power_level_override_at_creation_is_checked(hs: Homeserver, version: str) -> None:
    """`power_level_content_override` cannot give more users power 100 than the limit."""
    root = await hs.register_user("root", admin=True)
    await set_policy(root, max_admins=1)
    alice = await hs.register_user("alice")
    bob = await hs.create_user("bob")
    users = {bob: 100} if version == "12" else {alice.user_id: 100, bob: 100}
    resp = await alice.post(
        "/createRoom",
        json={"room_version": version, "power_level_content_override": {"users": users}},
    )
    assert errcode(resp) == (403, "M_FORBIDDEN")


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_room_over_a_new_lower_limit_may_only_move_down(
    hs: Homeserver, version: str
) -> None:
    """A room that already has more admins than a new, lower limit keeps them; a change that
    adds no admin (demoting one, another level) is allowed; promoting anyone is refused."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob, dave = await hs.create_user("bob"), await hs.create_user("dave")
    carol_client = await hs.register_user("carol")
    carol = carol_client.user_id
    room_id = await alice.create_room(room_version=version, preset="public_chat")
    await carol_client.join(room_id)
    levels = await power_levels(alice, room_id)
    levels["users"] = {**levels["users"], bob: 100, carol: 100}
    assert await put_power_levels(alice, room_id, levels) == (200, None)  # 3 admins
    await set_policy(root, max_admins=1)
    levels["ban"] = 75  # no new admin: allowed although the room is over the limit
    assert await put_power_levels(alice, room_id, levels) == (200, None)
    levels["users"] = {**levels["users"], dave: 100}
    assert await put_power_levels(alice, room_id, levels) == (403, "M_FORBIDDEN")
    levels["users"] = {**levels["users"], dave: 0, carol: 0}  # carol steps down
    assert await put_power_levels(carol_client, room_id, levels) == (200, None)
    levels["users"] = {**levels["users"], carol: 100}  # promote back: still over the limit
    assert await put_power_levels(alice, room_id, levels) == (403, "M_FORBIDDEN")


@pytest.mark.parametrize("version", VERSIONS)
async def test_the_moderator_gets_lasting_power_in_new_rooms_and_is_not_counted(
    hs: Homeserver, version: str
) -> None:
    """`rooms.moderator` is given power in every new room: an additional creator in v12, power
    100 in the initial power levels in v10/v11; it does not count against `max_admins`."""
    root = await hs.register_user("root", admin=True)
    moderator = await hs.create_user("moderation")
    await set_policy(root, max_admins=1, moderator=moderator)
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(room_version=version)
    create = await create_event(alice, room_id)
    levels = await power_levels(alice, room_id)
    if version == "12":
        assert create.get("additional_creators") == [moderator]
        assert moderator not in levels["users"]
    else:
        assert levels["users"][moderator] == 100
    # alice + the moderator in a room with max_admins 1: the moderator does not count, so a
    # change that keeps it at its power is allowed, and a second person still is not.
    levels["ban"] = 60
    assert await put_power_levels(alice, room_id, levels) == (200, None)
    bob = await hs.create_user("bob")
    levels["users"] = {**levels["users"], bob: 100}
    assert await put_power_levels(alice, room_id, levels) == (403, "M_FORBIDDEN")


async def test_the_moderator_survives_a_power_level_override(hs: Homeserver) -> None:
    """The client's `power_level_content_override` cannot take the moderator's power away."""
    root = await hs.register_user("root", admin=True)
    moderator = await hs.create_user("moderation")
    await set_policy(root, moderator=moderator)
    alice = await hs.register_user("alice")
    override = {"users": {alice.user_id: 100}}
    room_id = await alice.create_room(room_version="11", power_level_content_override=override)
    assert (await power_levels(alice, room_id))["users"][moderator] == 100


async def test_rooms_created_before_the_moderator_was_set_are_unchanged(hs: Homeserver) -> None:
    """Only NEW rooms get the moderator."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    before = await alice.create_room(room_version="12")
    moderator = await hs.create_user("moderation")
    await set_policy(root, moderator=moderator)
    assert "additional_creators" not in await create_event(alice, before)


@pytest.mark.parametrize("version", VERSIONS)
async def test_offboarding_promotes_a_successor_whatever_the_limit(
    hs: Homeserver, version: str
) -> None:
    """Issue #12 §2: "in every room where they were the last admin, a successor is promoted
    *first*... so no room is ever left without an admin": a server admin's promotion is not
    limited by `max_admins` (the leaver still holds power when the successor gets it)."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(room_version=version, preset="public_chat")
    await bob.join(room_id)
    await set_policy(root, max_admins=1, fallback_admin=bob.user_id)
    resp = await root.post(f"/_synapse/admin/v1/deactivate/{alice.user_id}", json={})
    assert resp.status_code == 200, resp.text
    assert (await power_levels(bob, room_id))["users"][bob.user_id] == 100
