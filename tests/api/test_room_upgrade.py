"""`POST /rooms/{roomId}/upgrade`, each test from the spec's "Server behaviour" list (room
upgrades module), plus what Bastion adds: retention and legal holds follow the room."""

from __future__ import annotations

import json
from typing import Any

from tests.api.compliance.retention_helpers import HOLDS, place_hold
from tests.conftest import OPERATOR, Homeserver, UserClient, errcode

ENCRYPTION = {"algorithm": "m.megolm.v1.aes-sha2"}


def state(event_type: str, content: dict[str, Any], state_key: str = "") -> dict[str, Any]:
    return {"type": event_type, "state_key": state_key, "content": content}


async def upgrade(user: UserClient, room_id: str, **body: Any) -> str:
    resp = await user.post(f"/rooms/{room_id}/upgrade", json=body)
    assert resp.status_code == 200, resp.text
    new_room: str = resp.json()["replacement_room"]
    return new_room


async def room_state(user: UserClient, room_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    resp = await user.get(f"/rooms/{room_id}/state")
    assert resp.status_code == 200, resp.text
    return {(e["type"], e["state_key"]): e for e in resp.json()}


async def test_the_new_room_carries_the_old_ones_state_and_the_old_one_is_closed(
    hs: Homeserver,
) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    old = await alice.create_room(
        room_version="11",
        name="Ward 7",
        topic="Handover notes",
        room_alias_name="ward7",
        invite=[bob.user_id, carol.user_id],
        initial_state=[
            state("m.room.encryption", ENCRYPTION),
            state("m.room.history_visibility", {"history_visibility": "joined"}),
            state("m.room.retention", {"max_lifetime": 86_400_000}),
        ],
        power_level_content_override={"users": {alice.user_id: 100, bob.user_id: 50}},
    )
    await bob.join(old)
    await carol.join(old)

    new = await upgrade(alice, old, new_version="12")

    assert new != old
    now = await room_state(alice, new)
    create = now[("m.room.create", "")]
    # 2. a create event with `predecessor` (its event_id may be left out from v12 on).
    assert create["content"]["room_version"] == "12"
    assert create["content"]["predecessor"] == {"room_id": old}
    assert "type" not in create["content"]
    assert create["sender"] == alice.user_id
    # 3. transferable state copied.
    assert now[("m.room.name", "")]["content"]["name"] == "Ward 7"
    assert now[("m.room.topic", "")]["content"]["topic"] == "Handover notes"
    assert now[("m.room.encryption", "")]["content"] == ENCRYPTION
    assert now[("m.room.history_visibility", "")]["content"] == {"history_visibility": "joined"}
    assert now[("m.room.join_rules", "")]["content"]["join_rule"] == "invite"
    assert now[("m.room.retention", "")]["content"] == {"max_lifetime": 86_400_000}
    levels = now[("m.room.power_levels", "")]["content"]
    assert levels["users"] == {bob.user_id: 50}  # alice is the v12 room's creator: not listed
    # Memberships are not copied: alice is in the new room, the others are invited to it.
    members = {k[1]: e["content"]["membership"] for k, e in now.items() if k[0] == "m.room.member"}
    assert members == {alice.user_id: "join", bob.user_id: "invite", carol.user_id: "invite"}
    # 4. local aliases moved, the canonical alias with them.
    assert now[("m.room.canonical_alias", "")]["content"] == {"alias": "#ward7:test.bastion"}
    resolved = await alice.get("/directory/room/%23ward7:test.bastion")
    assert resolved.json()["room_id"] == new
    # 5. the tombstone; 6. the old room closed to those below 50.
    before = await room_state(alice, old)
    tombstone = before[("m.room.tombstone", "")]
    assert tombstone["content"]["replacement_room"] == new
    assert tombstone["sender"] == alice.user_id
    old_levels = before[("m.room.power_levels", "")]["content"]
    assert (old_levels["events_default"], old_levels["invite"]) == (50, 50)
    assert before[("m.room.canonical_alias", "")]["content"] == {}
    blocked = await carol.put(
        f"/rooms/{old}/send/m.room.message/t1", json={"msgtype": "m.text", "body": "still here?"}
    )
    assert errcode(blocked) == (403, "M_FORBIDDEN")
    # The members find the new room through the tombstone and join it.
    await bob.join(new)
    assert (await bob.get(f"/rooms/{new}/state/m.room.name/")).json() == {"name": "Ward 7"}
    # Audited with the tombstone.
    rows = await hs.runtime.db.fetch_all(
        "SELECT actor, target, details FROM audit_log WHERE action = 'room.upgrade'"
    )
    assert [(r[0], r[1]) for r in rows] == [(alice.user_id, old)]
    details = json.loads(rows[0][2])
    assert details["replacement_room"] == new
    assert (details["from_version"], details["to_version"]) == ("11", "12")
    assert details["aliases_moved"] == ["#ward7:test.bastion"]


async def test_to_an_older_version_and_a_space_keeps_its_type_and_children(
    hs: Homeserver,
) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    child = await alice.create_room(name="Child")
    space = await alice.create_room(
        name="Departments",
        creation_content={"type": "m.space"},
        invite=[bob.user_id],
        initial_state=[state("m.space.child", {"via": ["test.bastion"]}, child)],
    )
    new = await upgrade(alice, space, new_version="11", additional_creators=[bob.user_id])
    now = await room_state(alice, new)
    create = now[("m.room.create", "")]["content"]
    assert create["type"] == "m.space"
    # Before v12 the predecessor also names "the last known event in the old room": there,
    # bob's invite, the last event before the upgrade.
    old_state = await room_state(alice, space)
    assert create["predecessor"] == {
        "room_id": space,
        "event_id": old_state[("m.room.member", bob.user_id)]["event_id"],
    }
    assert "additional_creators" not in create  # v11 has none: the field is ignored
    assert now[("m.space.child", child)]["content"] == {"via": ["test.bastion"]}
    # v11 lists the upgrader at 100 (no infinite creators before v12).
    assert now[("m.room.power_levels", "")]["content"]["users"][alice.user_id] == 100


async def test_additional_creators_and_old_creators_in_v12(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    old = await alice.create_room(
        preset="trusted_private_chat", invite=[bob.user_id], name="Board"
    )  # v12: bob is an additional creator
    await bob.join(old)
    new = await upgrade(bob, old, new_version="12", additional_creators=[carol.user_id])
    now = await room_state(bob, new)
    assert now[("m.room.create", "")]["sender"] == bob.user_id
    assert now[("m.room.create", "")]["content"]["additional_creators"] == [carol.user_id]
    # alice created the old room but is not a creator of the new one: she keeps the top level.
    assert now[("m.room.power_levels", "")]["content"]["users"] == {alice.user_id: 100}


async def test_who_may_upgrade_and_to_what(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room = await alice.create_room(room_version="11", invite=[bob.user_id])
    await bob.join(room)
    # 1. the permission to send m.room.tombstone (100 here): bob has 0, carol is not in it.
    for user in (bob, carol):
        resp = await user.post(f"/rooms/{room}/upgrade", json={"new_version": "12"})
        assert errcode(resp) == (403, "M_FORBIDDEN")
    resp = await alice.post(f"/rooms/{room}/upgrade", json={"new_version": "99"})
    assert errcode(resp) == (400, "M_UNSUPPORTED_ROOM_VERSION")
    resp = await alice.post(f"/rooms/{room}/upgrade", json={})
    assert resp.status_code == 400
    resp = await alice.post(
        f"/rooms/{room}/upgrade", json={"new_version": "12", "additional_creators": ["bob"]}
    )
    assert errcode(resp) == (400, "M_INVALID_PARAM")
    resp = await alice.post("/rooms/!nope:test.bastion/upgrade", json={"new_version": "12"})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    # Nothing happened to the room.
    assert ("m.room.tombstone", "") not in await room_state(alice, room)


async def test_a_published_room_stays_published_and_a_hold_follows_it(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room = await alice.create_room(visibility="public", name="Lobby")
    other = await alice.create_room(name="Other")
    held = await place_hold(root, rooms=[room])
    await place_hold(root, rooms=[other], case="case-2")

    new = await upgrade(alice, room, new_version="12")

    listed = (await alice.get("/publicRooms")).json()["chunk"]
    assert [r["room_id"] for r in listed] == [new]
    entries = (await root.get(HOLDS)).json()["entries"]
    following = [e for e in entries if new in e["rooms"]]
    assert len(following) == 1
    hold = following[0]
    assert (hold["case"], hold["rooms"], hold["created_by"]) == ("case-1", [new], "server")
    assert held in hold["reason"]
    assert len(entries) == 3  # the other room's hold did not follow


async def test_with_the_policys_moderation_account(hs: Homeserver) -> None:
    """The organisation's moderation account has 100 in a v11 room and is an additional creator
    of every v12 room: the upgrade makes it a creator and does not list it (v12 refuses a power
    level for a creator)."""
    mod = await hs.register_user("moderation")
    await hs.runtime.services.policy.replace(OPERATOR, {"rooms": {"moderator": mod.user_id}})
    alice = await hs.register_user("alice")
    old = await alice.create_room(room_version="11", name="Pharmacy")
    old_levels = (await room_state(alice, old))[("m.room.power_levels", "")]["content"]
    assert old_levels["users"][mod.user_id] == 100
    new = await upgrade(alice, old, new_version="12")
    now = await room_state(alice, new)
    assert now[("m.room.create", "")]["content"]["additional_creators"] == [mod.user_id]
    assert mod.user_id not in now[("m.room.power_levels", "")]["content"]["users"]


async def test_a_joining_members_mute_and_favourite_follow_the_room(hs: Homeserver) -> None:
    """spec: "When a user joins the new room, the server should automatically
    transfer/replicate some of the user's personalized settings such as notifications, tags"."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    old = await alice.create_room(name="Noisy", invite=[bob.user_id])
    other = await alice.create_room(name="Other", invite=[bob.user_id])
    await bob.join(old)
    await bob.join(other)
    mute = {
        "actions": [],
        "conditions": [{"kind": "event_match", "key": "room_id", "pattern": old}],
    }
    assert (await bob.put(f"/pushrules/global/override/{old}", json=mute)).status_code == 200
    room_rule = {"actions": ["notify"]}
    assert (await bob.put(f"/pushrules/global/room/{old}", json=room_rule)).status_code == 200
    favourite = {"order": 0.25}
    tag_path = f"/user/{bob.user_id}/rooms/{old}/tags/m.favourite"
    assert (await bob.put(tag_path, json=favourite)).status_code == 200
    other_tag = f"/user/{bob.user_id}/rooms/{other}/tags/u.work"
    assert (await bob.put(other_tag, json={})).status_code == 200

    new = await upgrade(alice, old, new_version="12")
    assert (await bob.get(f"/user/{bob.user_id}/rooms/{new}/tags")).json() == {"tags": {}}
    await bob.join(new)

    rules = (await bob.get("/pushrules/")).json()["global"]
    overrides = {r["rule_id"]: r for r in rules["override"]}
    assert overrides[new]["conditions"] == [
        {"kind": "event_match", "key": "room_id", "pattern": new}
    ]
    assert overrides[new]["actions"] == []
    assert old in overrides  # the old room's mute stays
    assert {r["rule_id"] for r in rules["room"]} == {old, new}
    tags = (await bob.get(f"/user/{bob.user_id}/rooms/{new}/tags")).json()
    assert tags == {"tags": {"m.favourite": favourite}}
    # alice had no settings on the old room: nothing was written for her.
    alice_tags = (await alice.get(f"/user/{alice.user_id}/rooms/{new}/tags")).json()
    assert alice_tags == {"tags": {}}
    # The muted new room does not notify bob.
    await alice.send_text(new, "anyone?")
    counts = (await bob.sync())["rooms"]["join"][new]["unread_notifications"]
    assert counts["notification_count"] == 0


async def test_a_direct_chat_stays_one_in_m_direct(hs: Homeserver) -> None:
    """The same sentence ("the user's personalized settings"): a DM upgraded is still a DM. Each
    local member's `m.direct` lists the new room next to the old one once they join it."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    old = await alice.create_room(is_direct=True, invite=[bob.user_id])
    await bob.join(old)
    elsewhere = await alice.create_room(is_direct=True)
    direct_path = {u: f"/user/{u.user_id}/account_data/m.direct" for u in (alice, bob)}
    mine = {bob.user_id: [old], "@carol:test.bastion": [elsewhere], "x": "not a list"}
    assert (await alice.put(direct_path[alice], json=mine)).status_code == 200
    assert (await bob.put(direct_path[bob], json={alice.user_id: [old]})).status_code == 200

    new = await upgrade(alice, old, new_version="12")
    assert (await alice.get(direct_path[alice])).json() == {
        bob.user_id: [old, new], "@carol:test.bastion": [elsewhere], "x": "not a list"
    }  # fmt: skip
    # bob has not joined the new room yet: his m.direct is his own until he does.
    assert (await bob.get(direct_path[bob])).json() == {alice.user_id: [old]}
    since = (await bob.sync())["next_batch"]
    await bob.join(new)
    assert (await bob.get(direct_path[bob])).json() == {alice.user_id: [old, new]}
    # His clients learn it from /sync, as from any account-data change.
    changed = (await bob.sync(since=since))["account_data"]["events"]
    assert {"type": "m.direct", "content": {alice.user_id: [old, new]}} in changed


async def test_a_ban_follows_the_room(hs: Homeserver) -> None:
    """A public room's upgrade must not let a banned user back in."""
    alice = await hs.register_user("alice")
    mallory = await hs.register_user("mallory")
    room = await alice.create_room(visibility="public", name="Open forum")
    await mallory.join(room)
    resp = await alice.post(f"/rooms/{room}/ban", json={"user_id": mallory.user_id})
    assert resp.status_code == 200
    new = await upgrade(alice, room, new_version="12")
    banned = (await room_state(alice, new))[("m.room.member", mallory.user_id)]
    assert banned["content"]["membership"] == "ban"
    resp = await mallory.post(f"/join/{new}", json={})
    assert errcode(resp) == (403, "M_FORBIDDEN")
