"""SCIM Groups and the rooms linked to them (issue #12 §3): "A group linked to rooms (`PUT
/_bastion/admin/v1/groups/{groupId}/rooms`) joins its members to those rooms when they are added
(new members get the rooms at once; onboarding is one IdP action) and removes them when they
leave the group"."""

from __future__ import annotations

import pytest
from scim2_models import Group

from tests.api.scim.scim_helpers import (
    GROUP,
    Scim,
    asgi_scim_client,
    audit_records,
    created,
    scim_token,
    searched,
)
from tests.conftest import Homeserver, UserClient, errcode

VERSIONS = pytest.mark.parametrize("version", ["10", "12"])


async def _joined(owner: UserClient, room: str) -> list[str]:
    resp = await owner.get(f"/rooms/{room}/joined_members")
    assert resp.status_code == 200, resp.text
    return sorted(resp.json()["joined"])


async def test_groups_with_scim2_client(hs: Homeserver) -> None:
    """ "Groups (create, get, list, PATCH members add/remove, PUT, DELETE)"."""
    scim = Scim(hs, await scim_token(hs))
    for name in ("ann", "ben"):
        await scim.create_user(name)
    client = asgi_scim_client(hs, await scim_token(hs, "tooling"))
    await client.discover()
    sales = await created(
        client, Group.model_validate({"displayName": "Sales", "members": [{"value": "ann"}]})
    )
    assert [m.value for m in sales.members or []] == ["ann"]
    group_id = str(sales.id)
    found = await searched(client, Group, 'displayName eq "Sales"')
    assert [g.id for g in found.resources or []] == [group_id]
    services = hs.runtime.services.scim
    assert await services.is_member(group_id, f"@ann:{hs.server_name}")
    assert not await services.is_member(group_id, f"@ben:{hs.server_name}")
    duplicate = await scim.request("POST", "/Groups", {"schemas": [GROUP], "displayName": "Sales"})
    assert (duplicate.status_code, duplicate.json()["scimType"]) == (409, "uniqueness")
    unknown = await scim.request(
        "POST", "/Groups", {"schemas": [GROUP], "displayName": "X", "members": [{"value": "zed"}]}
    )
    assert (unknown.status_code, unknown.json()["scimType"]) == (400, "invalidValue")
    replaced = await scim.request(
        "PUT", f"/Groups/{group_id}",
        {"schemas": [GROUP], "displayName": "Sales EMEA", "members": [{"value": "ben"}]},
    )  # fmt: skip
    assert replaced.status_code == 200, replaced.text
    assert [m["value"] for m in replaced.json()["members"]] == ["ben"]
    assert (await scim.request("DELETE", f"/Groups/{group_id}")).status_code == 204
    assert (await scim.request("GET", f"/Groups/{group_id}")).status_code == 404
    actions = [r["details"].get("added") for r in await audit_records(hs, "scim.group.update")]
    assert actions == [[f"@ben:{hs.server_name}"]]
    assert len(await audit_records(hs, "scim.group.delete")) == 1


@VERSIONS
async def test_linked_rooms_follow_group_membership(hs: Homeserver, version: str) -> None:
    """Members added by Entra ID's PATCH (`"Add"` members) join the linked rooms at once, the
    invite-only one by invitation from a local member with power; removed ones (Entra's
    `"Remove"` with a value filter) leave them."""
    root = await hs.register_user("root", admin=True)
    public = await root.create_room(room_version=version, preset="public_chat")
    private = await root.create_room(room_version=version, preset="private_chat")
    scim = Scim(hs, await scim_token(hs, "entra"))
    for name in ("ann", "ben"):
        await scim.create_user(name)
    resp = await scim.request("POST", "/Groups", {"schemas": [GROUP], "displayName": "Ops",
                                                  "members": [{"value": "ann"}]})  # fmt: skip
    group_id = resp.json()["id"]
    linked = await root.put(
        f"/_bastion/admin/v1/groups/{group_id}/rooms", json={"rooms": [public, private]}
    )
    assert linked.status_code == 200, linked.text
    ann, ben = f"@ann:{hs.server_name}", f"@ben:{hs.server_name}"
    assert linked.json()["joined"] == {ann: sorted([public, private])}
    assert (await root.get(f"/_bastion/admin/v1/groups/{group_id}/rooms")).json() == {
        "rooms": sorted([public, private])
    }
    for room in (public, private):
        assert await _joined(root, room) == sorted([ann, root.user_id])

    resp = await scim.patch(
        f"/Groups/{group_id}", {"op": "Add", "path": "members", "value": [{"value": "ben"}]}
    )
    assert resp.status_code == 200, resp.text
    for room in (public, private):
        assert await _joined(root, room) == sorted([ann, ben, root.user_id])

    resp = await scim.patch(
        f"/Groups/{group_id}", {"op": "Remove", "path": 'members[value eq "ann"]'}
    )
    assert resp.status_code == 200, resp.text
    assert [m["value"] for m in resp.json()["members"]] == ["ben"]
    for room in (public, private):
        assert await _joined(root, room) == sorted([ben, root.user_id])
    (link,) = await audit_records(hs, "group.rooms.set")
    assert link["details"]["rooms"] == sorted([public, private])


async def test_group_rooms_admin_api_refusals(hs: Homeserver) -> None:
    """Admins only (403 `M_FORBIDDEN`); an unknown group or room is 404."""
    root = await hs.register_user("root", admin=True)
    bob = await hs.register_user("bob")
    scim = Scim(hs, await scim_token(hs))
    group_id = (
        await scim.request("POST", "/Groups", {"schemas": [GROUP], "displayName": "G"})
    ).json()["id"]
    path = f"/_bastion/admin/v1/groups/{group_id}/rooms"
    assert errcode(await bob.get(path)) == (403, "M_FORBIDDEN")
    assert errcode(await bob.put(path, json={"rooms": []})) == (403, "M_FORBIDDEN")
    assert errcode(await root.get("/_bastion/admin/v1/groups/nope/rooms")) == (404, "M_NOT_FOUND")
    bad_room = await root.put(path, json={"rooms": [f"!nope:{hs.server_name}"]})
    assert errcode(bad_room) == (404, "M_NOT_FOUND")
    assert errcode(await root.put(path, json={"rooms": "x"})) == (400, "M_BAD_JSON")


async def test_deleted_group_and_reactivated_member(hs: Homeserver) -> None:
    """Deleting a group is every member leaving it: they leave its rooms, except rooms another
    of their groups links; a reactivated member gets their groups' rooms back."""
    root = await hs.register_user("root", admin=True)
    first = await root.create_room(preset="public_chat")
    second = await root.create_room(preset="public_chat")
    scim = Scim(hs, await scim_token(hs))
    await scim.create_user("ann")
    ann = f"@ann:{hs.server_name}"
    ids = []
    for name, rooms in (("One", [first, second]), ("Two", [second])):
        resp = await scim.request(
            "POST", "/Groups",
            {"schemas": [GROUP], "displayName": name, "members": [{"value": "ann"}]},
        )  # fmt: skip
        ids.append(resp.json()["id"])
        linked = await root.put(f"/_bastion/admin/v1/groups/{ids[-1]}/rooms", json={"rooms": rooms})
        assert linked.status_code == 200, linked.text
    assert ann in await _joined(root, first)
    assert (await scim.request("DELETE", f"/Groups/{ids[0]}")).status_code == 204
    assert ann not in await _joined(root, first)
    assert ann in await _joined(root, second)  # group Two still links it

    await scim.patch("/Users/ann", {"op": "replace", "value": {"active": False}})
    assert ann not in await _joined(root, second)  # offboarded: out of every room
    await scim.patch("/Users/ann", {"op": "replace", "value": {"active": True}})
    assert ann in await _joined(root, second)
    assert ann not in await _joined(root, first)
