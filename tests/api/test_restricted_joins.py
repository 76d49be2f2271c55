"""Restricted rooms, from the spec's sentences (client-server-api#restricted-rooms, the join rules
of m.room.join_rules, rooms v12's auth rules 4.3.5):

- "`restricted`: This room can be joined if you were invited or if you are a member of another
  room listed in the join rules."
- "If the user has an invite to the room then the restrictions will not affect them."
- "When joining without an invite, the server MUST verify that the requesting user meets at least
  one of the conditions. If no conditions can be verified or no conditions are satisfied, the
  user will not be able to join." /join's 403: "The room is restricted and the user failed to
  satisfy any of the conditions."
- "`m.room_membership` ... requires the user trying to join the room to be a *joined* member of
  another room."
- "The user does not need to maintain the conditions in order to stay a member of the room."
- "`knock_restricted`: This room can be joined as though it was `restricted` *or* `knock`."
- The join names, in `join_authorised_via_users_server`, a joined member "with sufficient
  permission to invite other users".

What Element does for a room made in a space ("space members can join") is the fixture: a
space, and a room whose join rules allow the space's members.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.api.rooms_helpers import state_content
from tests.conftest import Homeserver, UserClient, errcode

RESTRICTED_VERSIONS = ["8", "9", "10", "11", "12"]  # the room versions with restricted rooms


def join_rules(rule: str, *allowed: str) -> dict[str, Any]:
    allow = [{"type": "m.room_membership", "room_id": room_id} for room_id in allowed]
    return {
        "type": "m.room.join_rules",
        "state_key": "",
        "content": {"join_rule": rule, "allow": allow},
    }


async def department(
    hs: Homeserver, rule: str = "restricted", version: str = "12", **power: Any
) -> tuple[UserClient, UserClient, str, str]:
    """alice's space (public, so anyone may join it) and a room of it (room version `version`)
    that admits the space's members; bob is in neither yet."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    space = await alice.create_room(
        preset="public_chat", creation_content={"type": "m.space"}, name="Cardiology"
    )
    body: dict[str, Any] = {"preset": "private_chat", "name": "Rota", "room_version": version,
                            "initial_state": [join_rules(rule, space)]}  # fmt: skip
    if power:
        body["power_level_content_override"] = power
    room = await alice.create_room(**body)
    return alice, bob, space, room


async def membership(user: UserClient, room_id: str) -> str | None:
    resp = await user.get(f"/rooms/{room_id}/joined_members")
    if resp.status_code != 200:
        return None
    return "join" if user.user_id in resp.json()["joined"] else None


async def member_event(user: UserClient, room_id: str) -> dict[str, Any]:
    return await state_content(user, room_id, "m.room.member", user.user_id)


@pytest.mark.parametrize("version", RESTRICTED_VERSIONS)
async def test_a_member_of_the_space_joins_in_the_name_of_one_who_may_invite(
    hs: Homeserver, version: str
) -> None:
    alice, bob, space, room = await department(hs, version=version)
    await bob.join(space)

    resp = await bob.post(f"/join/{room}", json={})

    assert resp.status_code == 200, resp.text
    assert resp.json()["room_id"] == room
    assert await membership(bob, room) == "join"
    content = await member_event(bob, room)
    assert content["membership"] == "join"
    assert content["join_authorised_via_users_server"] == alice.user_id
    sync = await bob.sync()
    assert room in sync["rooms"]["join"]


@pytest.mark.parametrize("version", RESTRICTED_VERSIONS)
async def test_someone_outside_the_space_is_refused(hs: Homeserver, version: str) -> None:
    _alice, bob, _space, room = await department(hs, version=version)

    resp = await bob.post(f"/join/{room}", json={})

    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert "ask for an invite" in resp.json()["error"]
    assert await membership(bob, room) is None


async def test_joining_by_alias_applies_the_same_rule(hs: Homeserver) -> None:
    alice, bob, space, room = await department(hs)
    alias = quote(f"#rota:{hs.server_name}")
    assert (await alice.put(f"/directory/room/{alias}", json={"room_id": room})).status_code == 200

    assert errcode(await bob.post(f"/join/{alias}", json={})) == (403, "M_FORBIDDEN")
    await bob.join(space)
    assert (await bob.post(f"/join/{alias}", json={})).status_code == 200


async def test_only_a_joined_member_of_the_space_qualifies(hs: Homeserver) -> None:
    alice, bob, space, room = await department(hs)
    resp = await alice.post(f"/rooms/{space}/invite", json={"user_id": bob.user_id})
    assert resp.status_code == 200, resp.text  # invited to the space, not in it

    assert errcode(await bob.post(f"/join/{room}", json={})) == (403, "M_FORBIDDEN")


async def test_an_invite_is_enough_without_the_space(hs: Homeserver) -> None:
    alice, bob, _space, room = await department(hs)
    resp = await alice.post(f"/rooms/{room}/invite", json={"user_id": bob.user_id})
    assert resp.status_code == 200, resp.text

    assert (await bob.post(f"/join/{room}", json={})).status_code == 200
    assert "join_authorised_via_users_server" not in await member_event(bob, room)


async def test_any_of_several_allowed_rooms_qualifies(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    first = await alice.create_room(preset="private_chat")
    second = await alice.create_room(preset="public_chat")
    room = await alice.create_room(
        preset="private_chat", initial_state=[join_rules("restricted", first, second)]
    )
    await bob.join(second)

    assert (await bob.post(f"/join/{room}", json={})).status_code == 200


async def test_a_condition_of_another_kind_admits_nobody(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    space = await alice.create_room(preset="public_chat")
    rules = {"join_rule": "restricted", "allow": [{"type": "org.example.other", "room_id": space}]}
    room = await alice.create_room(
        preset="private_chat",
        initial_state=[{"type": "m.room.join_rules", "state_key": "", "content": rules}],
    )
    await bob.join(space)

    assert errcode(await bob.post(f"/join/{room}", json={})) == (403, "M_FORBIDDEN")


async def test_leaving_the_space_later_keeps_the_room(hs: Homeserver) -> None:
    _alice, bob, space, room = await department(hs)
    await bob.join(space)
    await bob.join(room)

    assert (await bob.post(f"/rooms/{space}/leave", json={})).status_code == 200

    assert await membership(bob, room) == "join"


async def test_after_leaving_the_room_a_member_of_the_space_may_come_back(hs: Homeserver) -> None:
    _alice, bob, space, room = await department(hs)
    await bob.join(space)
    await bob.join(room)
    assert (await bob.post(f"/rooms/{room}/leave", json={})).status_code == 200

    assert (await bob.post(f"/join/{room}", json={})).status_code == 200
    assert await membership(bob, room) == "join"


async def test_the_member_with_the_most_power_is_named(hs: Homeserver) -> None:
    alice, bob, space, room = await department(hs)
    carol = await hs.register_user("carol")
    await carol.join(space)
    await carol.join(room)
    levels = (await alice.get(f"/rooms/{room}/state/m.room.power_levels")).json()
    levels["users"][carol.user_id] = 50  # a moderator, who may invite (invite level 0)
    assert (
        await alice.put(f"/rooms/{room}/state/m.room.power_levels", json=levels)
    ).status_code == 200
    await bob.join(space)

    await bob.join(room)

    assert (await member_event(bob, room))["join_authorised_via_users_server"] == alice.user_id


async def test_nobody_left_who_may_invite_means_nobody_is_admitted(hs: Homeserver) -> None:
    alice, bob, space, room = await department(hs, invite=100)
    carol = await hs.register_user("carol")
    await carol.join(space)
    await carol.join(room)  # alice (100) admits her
    assert (await alice.post(f"/rooms/{room}/leave", json={})).status_code == 200
    await bob.join(space)

    resp = await bob.post(f"/join/{room}", json={})

    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert "nobody" in resp.json()["error"]
    assert await membership(bob, room) is None


async def test_knock_restricted_admits_the_space_and_lets_others_knock(hs: Homeserver) -> None:
    _alice, bob, space, room = await department(hs, rule="knock_restricted")
    carol = await hs.register_user("carol")

    await bob.join(space)
    assert (await bob.post(f"/join/{room}", json={})).status_code == 200
    assert errcode(await carol.post(f"/join/{room}", json={})) == (403, "M_FORBIDDEN")
    assert (await carol.post(f"/knock/{room}", json={})).status_code == 200


async def test_a_key_the_client_writes_itself_does_not_open_the_room(hs: Homeserver) -> None:
    """The key is the server's promise: written through the state API by someone outside the
    space, naming a member who may invite, it admits nobody."""
    alice, bob, _space, room = await department(hs)
    forged = {"membership": "join", "join_authorised_via_users_server": alice.user_id}

    resp = await bob.put(f"/rooms/{room}/state/m.room.member/{bob.user_id}", json=forged)

    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert await membership(bob, room) is None


async def test_the_key_written_by_a_member_of_the_space_is_checked_and_holds(
    hs: Homeserver,
) -> None:
    alice, bob, space, room = await department(hs)
    await bob.join(space)
    content = {"membership": "join", "join_authorised_via_users_server": alice.user_id}

    resp = await bob.put(f"/rooms/{room}/state/m.room.member/{bob.user_id}", json=content)

    assert resp.status_code == 200, resp.text
    assert await membership(bob, room) == "join"


async def test_a_new_display_name_may_carry_the_old_key(hs: Homeserver) -> None:
    """Element copies the member event's content to set a per-room name: the key comes along,
    after the room's conditions may have changed; it admits nobody new, so it is not checked."""
    _alice, bob, space, room = await department(hs)
    await bob.join(space)
    await bob.join(room)
    assert (await bob.post(f"/rooms/{space}/leave", json={})).status_code == 200
    content = {**await member_event(bob, room), "displayname": "Dr Bob"}

    resp = await bob.put(f"/rooms/{room}/state/m.room.member/{bob.user_id}", json=content)

    assert resp.status_code == 200, resp.text
    assert (await member_event(bob, room))["displayname"] == "Dr Bob"


async def test_a_key_naming_another_servers_user_is_refused(hs: Homeserver) -> None:
    _alice, bob, space, room = await department(hs)
    await bob.join(space)
    content = {"membership": "join", "join_authorised_via_users_server": "@admin:elsewhere.example"}

    resp = await bob.put(f"/rooms/{room}/state/m.room.member/{bob.user_id}", json=content)

    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert await membership(bob, room) is None


async def test_an_invite_only_room_stays_closed_to_the_space(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    space = await alice.create_room(preset="public_chat")
    room = await alice.create_room(
        preset="private_chat", initial_state=[join_rules("invite", space)]
    )
    await bob.join(space)

    assert errcode(await bob.post(f"/join/{room}", json={})) == (403, "M_FORBIDDEN")


async def test_a_banned_member_of_the_space_stays_out(hs: Homeserver) -> None:
    alice, bob, space, room = await department(hs)
    await bob.join(space)
    resp = await alice.post(f"/rooms/{room}/ban", json={"user_id": bob.user_id})
    assert resp.status_code == 200, resp.text

    resp = await bob.post(f"/join/{room}", json={})

    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert "banned" in resp.json()["error"]


async def test_element_webs_room_of_a_space_in_room_version_9(hs: Homeserver) -> None:
    """Element Web makes a room of a space whose members may join it by asking for room version
    9 by name (its preferred version for restricted rooms), with the join rule and the space
    parent in `initial_state`: the request its "New room" dialog sends inside a space, which
    failed with M_UNSUPPORTED_ROOM_VERSION while only 10-12 were served. The room then lives as
    any other: the space's members join, a redaction follows v9's algorithm, and an upgrade to
    the default version works."""
    alice, bob, space, _room = await department(hs)
    caps = (await alice.get("/capabilities")).json()["capabilities"]["m.room_versions"]
    assert caps["available"]["9"] == "stable"
    room = await alice.create_room(
        preset="private_chat",
        name="Rota",
        room_version="9",
        initial_state=[
            {
                "type": "m.space.parent",
                "state_key": space,
                "content": {"via": [hs.server_name], "canonical": True},
            },
            join_rules("restricted", space),
            {"type": "m.room.history_visibility", "content": {"history_visibility": "invited"}},
        ],
    )
    create = await state_content(alice, room, "m.room.create")
    assert create == {"room_version": "9", "creator": alice.user_id}
    await bob.join(space)

    await bob.join(room)
    event_id = await bob.send_text(room, "on call tonight")
    resp = await alice.put(f"/rooms/{room}/redact/{event_id}/t1", json={})
    assert resp.status_code == 200, resp.text
    redacted = (await alice.get(f"/rooms/{room}/event/{event_id}")).json()
    upgraded = await alice.post(f"/rooms/{room}/upgrade", json={"new_version": "12"})

    assert (await member_event(bob, room))["join_authorised_via_users_server"] == alice.user_id
    assert redacted["content"] == {}
    assert upgraded.status_code == 200, upgraded.text
    tombstone = await state_content(alice, room, "m.room.tombstone")
    assert tombstone["replacement_room"] == upgraded.json()["replacement_room"]


async def test_knock_restricted_is_no_join_rule_in_room_version_9(hs: Homeserver) -> None:
    """knock_restricted came with room version 10: a v9 room whose join rule says so admits
    nobody without an invite, not even the members of the rooms it names."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    space = await alice.create_room(preset="public_chat")
    room = await alice.create_room(
        preset="private_chat",
        room_version="9",
        initial_state=[join_rules("knock_restricted", space)],
    )
    await bob.join(space)

    assert errcode(await bob.post(f"/join/{room}", json={})) == (403, "M_FORBIDDEN")
    assert errcode(await bob.post(f"/knock/{room}", json={})) == (403, "M_FORBIDDEN")
    assert await membership(bob, room) is None


async def test_a_room_version_without_restricted_rooms_is_not_offered_to_the_space(
    hs: Homeserver,
) -> None:
    """`restricted` came with room version 8: a v7 room whose join rule says so admits nobody
    without an invite, so its summary is not shown to the space's members as joinable, and the
    join is refused; the same room in v8 is (spec v1.15: the summary's allowed_room_ids)."""
    summary = "/_matrix/client/v1/room_summary"
    alice, bob, space, old = await department(hs, version="7")
    v8 = await alice.create_room(
        preset="private_chat", room_version="8", initial_state=[join_rules("restricted", space)]
    )
    await bob.join(space)

    assert errcode(await bob.get(f"{summary}/{old}")) == (404, "M_NOT_FOUND")
    assert errcode(await bob.post(f"/join/{old}", json={})) == (403, "M_FORBIDDEN")
    offered = await bob.get(f"{summary}/{v8}")
    assert offered.status_code == 200, offered.text
    assert offered.json()["allowed_room_ids"] == [space]
    assert (await bob.post(f"/join/{v8}", json={})).status_code == 200
