"""The organisation policy's `rooms.creation` and `rooms.encryption`, enforced on createRoom and
on the events themselves (issue #12 §4), in v10, v11 and v12 rooms, through the HTTP API.

Issue #12: "`rooms.creation` (`everyone` | `admins` | `group:<scim group id>`), `rooms.encryption`
(`allowed` | `required` | `forbidden`, enforced on createRoom and on `m.room.encryption` state)".
"""

from __future__ import annotations

import pytest

from tests.api.admin.test_policy_enforcement import VERSIONS, set_policy
from tests.api.scim.scim_helpers import GROUP, Scim, scim_token
from tests.conftest import Homeserver, errcode

MEGOLM = {"algorithm": "m.megolm.v1.aes-sha2"}


class StaffGroup:
    """A stand-in SCIM group directory (the GroupMembership protocol): one group's members."""

    def __init__(self, group_id: str, members: set[str]) -> None:
        self.group_id, self.members = group_id, members

    async def is_member(self, group_id: str, user_id: str) -> bool:
        return group_id == self.group_id and user_id in self.members


@pytest.mark.parametrize("version", VERSIONS)
async def test_creation_by_admins_only(hs: Homeserver, version: str) -> None:
    """`rooms.creation: admins`: a user who is not a server admin gets 403 M_FORBIDDEN."""
    root = await hs.register_user("root", admin=True)
    await set_policy(root, creation="admins")
    alice = await hs.register_user("alice")
    resp = await alice.post("/createRoom", json={"room_version": version})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert "only server admins" in resp.json()["error"]
    await root.create_room(room_version=version)


@pytest.mark.parametrize("version", VERSIONS)
async def test_creation_by_members_of_a_group(hs: Homeserver, version: str) -> None:
    """`rooms.creation: group:<id>`: only members of that SCIM group may create rooms."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    hs.runtime.services.policy_enforcement.use_groups(StaffGroup("staff", {alice.user_id}))
    await set_policy(root, creation="group:staff")
    await alice.create_room(room_version=version)
    resp = await bob.post("/createRoom", json={"room_version": version})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert "'staff'" in resp.json()["error"]


async def test_group_rule_without_a_group_directory_fails_closed(hs: Homeserver) -> None:
    """With no SCIM group directory to ask, nobody can be shown to be a member: refused."""
    root = await hs.register_user("root", admin=True)
    await set_policy(root, creation="group:staff")
    resp = await root.post("/createRoom", json={})
    assert errcode(resp) == (403, "M_FORBIDDEN")


@pytest.mark.parametrize("version", VERSIONS)
async def test_required_encryption_is_added_to_a_new_room(hs: Homeserver, version: str) -> None:
    """`rooms.encryption: required`: createRoom without encryption gets Megolm added."""
    root = await hs.register_user("root", admin=True)
    await set_policy(root, encryption="required")
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(room_version=version)
    resp = await alice.get(f"/rooms/{room_id}/state/m.room.encryption/")
    assert resp.status_code == 200, resp.text
    assert resp.json() == MEGOLM


@pytest.mark.parametrize("version", VERSIONS)
async def test_required_encryption_keeps_what_the_client_asked(
    hs: Homeserver, version: str
) -> None:
    """A createRoom that already asks for Megolm (as Element does for DMs) gets it once."""
    root = await hs.register_user("root", admin=True)
    await set_policy(root, encryption="required")
    alice = await hs.register_user("alice")
    wanted = {**MEGOLM, "rotation_period_ms": 604800000}
    initial = [{"type": "m.room.encryption", "state_key": "", "content": wanted}]
    room_id = await alice.create_room(room_version=version, initial_state=initial)
    resp = await alice.get(f"/rooms/{room_id}/state/m.room.encryption/")
    assert resp.json() == wanted


@pytest.mark.parametrize("version", VERSIONS)
async def test_required_encryption_cannot_be_changed(hs: Homeserver, version: str) -> None:
    """Under `required`, an `m.room.encryption` event with another algorithm is refused."""
    root = await hs.register_user("root", admin=True)
    await set_policy(root, encryption="required")
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(room_version=version)
    path = f"/rooms/{room_id}/state/m.room.encryption/"
    assert errcode(await alice.put(path, json={"algorithm": "none"})) == (403, "M_FORBIDDEN")
    assert errcode(await alice.put(path, json={})) == (403, "M_FORBIDDEN")


@pytest.mark.parametrize("version", VERSIONS)
async def test_forbidden_encryption_refuses_create_and_state(hs: Homeserver, version: str) -> None:
    """`rooms.encryption: forbidden`: createRoom with it, or an `m.room.encryption` state event,
    is refused 403 and nothing is created."""
    root = await hs.register_user("root", admin=True)
    await set_policy(root, encryption="forbidden")
    alice = await hs.register_user("alice")
    initial = [{"type": "m.room.encryption", "state_key": "", "content": MEGOLM}]
    resp = await alice.post("/createRoom", json={"room_version": version, "initial_state": initial})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert "forbids encrypted rooms" in resp.json()["error"]
    joined = (await alice.get("/joined_rooms")).json()["joined_rooms"]
    assert joined == []
    room_id = await alice.create_room(room_version=version)
    resp = await alice.put(f"/rooms/{room_id}/state/m.room.encryption/", json=MEGOLM)
    assert errcode(resp) == (403, "M_FORBIDDEN")


async def test_allowed_encryption_changes_nothing(hs: Homeserver) -> None:
    """`rooms.encryption: allowed` (the default): no encryption is added, and it may be set."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    path = f"/rooms/{room_id}/state/m.room.encryption/"
    assert (await alice.get(path)).status_code == 404
    assert (await alice.put(path, json=MEGOLM)).status_code == 200


async def test_creation_by_members_of_a_real_scim_group(hs: Homeserver) -> None:
    """`group:<scim group id>` asks the SCIM service wired in app/wiring.py: members of the group
    the identity provider pushed may create rooms, others may not."""
    root = await hs.register_user("root", admin=True)
    scim = Scim(hs, await scim_token(hs))
    alice = await scim.create_user("alice", password="correct horse battery")
    await scim.create_user("bob", password="correct horse battery")
    group = await scim.request(
        "POST",
        "/Groups",
        {"schemas": [GROUP], "displayName": "Staff", "members": [{"value": alice["id"]}]},
    )
    assert group.status_code == 201, group.text
    await set_policy(root, creation=f"group:{group.json()['id']}")
    member = await hs.login("alice", "correct horse battery")
    await member.create_room(room_version="12")
    outsider = await hs.login("bob", "correct horse battery")
    assert errcode(await outsider.post("/createRoom", json={})) == (403, "M_FORBIDDEN")
