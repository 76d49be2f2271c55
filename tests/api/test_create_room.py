"""POST /createRoom: presets, initial state, versions, aliases, invites, and its refusals."""

from __future__ import annotations

from tests.api.rooms_helpers import state_content
from tests.conftest import Homeserver


async def test_private_room_defaults(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(name="Ward 7", topic="Night shift")
    assert room_id.startswith("!")
    assert ":" not in room_id  # v12: derived from the create event
    assert (await state_content(alice, room_id, "m.room.create"))["room_version"] == "12"
    assert (await state_content(alice, room_id, "m.room.join_rules")) == {"join_rule": "invite"}
    hv = await state_content(alice, room_id, "m.room.history_visibility")
    assert hv == {"history_visibility": "shared"}
    assert (await state_content(alice, room_id, "m.room.name")) == {"name": "Ward 7"}
    assert (await state_content(alice, room_id, "m.room.topic"))["topic"] == "Night shift"
    power = await state_content(alice, room_id, "m.room.power_levels")
    assert alice.user_id not in power["users"]  # v12 creators are above every level
    member = await state_content(alice, room_id, "m.room.member", alice.user_id)
    assert member["membership"] == "join"
    assert member["displayname"] == "alice"
    resp = await alice.get(f"/rooms/{room_id}/event/{room_id.replace('!', '$', 1)}")
    assert resp.json()["type"] == "m.room.create"


async def test_public_preset_alias_and_older_versions(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(
        visibility="public", room_alias_name="cardiology", room_version="10"
    )
    assert room_id.endswith(f":{hs.server_name}")
    assert (await state_content(alice, room_id, "m.room.join_rules")) == {"join_rule": "public"}
    create = await state_content(alice, room_id, "m.room.create")
    assert create == {"room_version": "10", "creator": alice.user_id}
    alias = f"#cardiology:{hs.server_name}"
    assert (await state_content(alice, room_id, "m.room.canonical_alias")) == {"alias": alias}
    resp = await bob.get(f"/directory/room/{alias.replace('#', '%23')}")
    assert resp.json()["room_id"] == room_id
    await bob.join(room_id)
    v11 = await alice.create_room(room_version="11")
    assert (await state_content(alice, v11, "m.room.create")) == {"room_version": "11"}
    power = await state_content(alice, v11, "m.room.power_levels")
    assert power["users"] == {alice.user_id: 100}


async def test_initial_state_override_and_invites(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(
        preset="trusted_private_chat",
        is_direct=True,
        invite=[bob.user_id],
        initial_state=[
            {"type": "m.room.encryption", "content": {"algorithm": "m.megolm.v1.aes-sha2"}},
            {"type": "m.room.history_visibility", "content": {"history_visibility": "joined"}},
        ],
        power_level_content_override={"events_default": 10},
        creation_content={"m.federate": False},
    )
    create = await state_content(alice, room_id, "m.room.create")
    assert create["m.federate"] is False
    assert create["additional_creators"] == [bob.user_id]  # trusted_private_chat in v12
    hv = await state_content(alice, room_id, "m.room.history_visibility")
    assert hv == {"history_visibility": "joined"}  # initial_state wins over the preset
    assert (await state_content(alice, room_id, "m.room.power_levels"))["events_default"] == 10
    invite = await state_content(alice, room_id, "m.room.member", bob.user_id)
    assert invite == {"membership": "invite", "displayname": "bob", "is_direct": True}
    sync = await bob.sync()
    assert room_id in sync["rooms"]["invite"]


async def test_trusted_private_chat_merges_additional_creators_with_invitees(
    hs: Homeserver,
) -> None:
    """create_room.yaml (v1.16), `creation_content`: "When using the `trusted_private_chat`
    preset, the server SHOULD combine `additional_creators` specified here and the `invite`
    array into the eventual `m.room.create` event's `additional_creators`, deduplicating"."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room_id = await alice.create_room(
        preset="trusted_private_chat",
        invite=[bob.user_id, carol.user_id],
        creation_content={"additional_creators": [carol.user_id, "@dave:test.bastion"]},
    )
    create = await state_content(alice, room_id, "m.room.create")
    assert create["additional_creators"] == [carol.user_id, "@dave:test.bastion", bob.user_id]
    # Another preset: the client's list as given, the invitees not added.
    other = await alice.create_room(
        preset="private_chat",
        invite=[bob.user_id],
        creation_content={"additional_creators": [carol.user_id]},
    )
    assert (await state_content(alice, other, "m.room.create"))["additional_creators"] == [
        carol.user_id
    ]


async def test_create_room_refusals(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    await alice.create_room(room_alias_name="taken")
    cases = [
        ({"room_version": "6"}, 400, "M_UNSUPPORTED_ROOM_VERSION"),
        ({"room_alias_name": "taken"}, 400, "M_ROOM_IN_USE"),
        ({"room_alias_name": "has space"}, 400, "M_INVALID_PARAM"),
        ({"preset": "anarchy"}, 400, "M_INVALID_PARAM"),
        ({"visibility": "secret"}, 400, "M_INVALID_PARAM"),
        ({"invite": ["@ghost:test.bastion"]}, 404, "M_NOT_FOUND"),
        ({"invite": ["not-a-user"]}, 400, "M_INVALID_PARAM"),
        ({"name": 7}, 400, "M_BAD_JSON"),
        (
            {"power_level_content_override": {"users": {alice.user_id: 50}}},
            400,
            "M_INVALID_ROOM_STATE",
        ),
        ({"initial_state": [{"type": "m.room.topic", "content": {"x": 1.5}}]}, 400, "M_BAD_JSON"),
    ]
    for body, status, errcode in cases:
        resp = await alice.post("/createRoom", json=body)
        assert (resp.status_code, resp.json().get("errcode")) == (status, errcode), (
            body,
            resp.text,
        )
    # Nothing half-made: the refused creations left no rooms behind.
    rooms = (await alice.get("/joined_rooms")).json()["joined_rooms"]
    assert len(rooms) == 1
