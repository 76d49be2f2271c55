"""Synapse's room admin API, the reads: list, details, members, state (issue #12, section 1).

Issue #12: "`v1/rooms` (list with `from`, `limit`, `order_by`, `dir`, `search_term`;
`total_rooms`, `next_batch`); `v1/rooms/{roomId}`, `/members`, `/state`"; "a test per endpoint
asserts the documented field names"; "`order_by` outside its allow-list is 400"; "Only server
admins (403 `M_FORBIDDEN` otherwise, tested for every route".

Synapse's List Room API: "`next_batch` - If this field is present, we know that there are
potentially more rooms on the server that did not all fit into this response"; "`search_term` -
Filter rooms by their room name, canonical alias and room id".
"""

from __future__ import annotations

import pytest

from tests.conftest import Homeserver, UserClient, errcode

LIST_FIELDS = {
    "room_id", "name", "canonical_alias", "joined_members", "joined_local_members", "version",
    "creator", "encryption", "federatable", "public", "join_rules", "guest_access",
    "history_visibility", "state_events", "room_type",
}  # fmt: skip
DETAIL_FIELDS = LIST_FIELDS | {
    "topic", "avatar", "joined_local_devices", "forgotten", "tombstoned", "replacement_room",
}  # fmt: skip


async def _rooms(hs: Homeserver) -> tuple[UserClient, UserClient, list[str]]:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    names = ["Cardiology", "Neurology", "Oncology"]
    rooms = [await alice.create_room(name=n, preset="public_chat") for n in names]
    return root, alice, rooms


async def test_the_list_has_synapses_fields_and_paging(hs: Homeserver) -> None:
    root, alice, rooms = await _rooms(hs)

    first = (await root.get("/_synapse/admin/v1/rooms", params={"limit": "2"})).json()

    assert set(first) >= {"rooms", "offset", "total_rooms", "next_batch"}
    assert "prev_batch" not in first
    assert first["offset"] == 0
    assert first["total_rooms"] == 3
    assert [r["name"] for r in first["rooms"]] == ["Cardiology", "Neurology"]
    assert set(first["rooms"][0]) == LIST_FIELDS
    room = first["rooms"][0]
    assert room["room_id"] == rooms[0]
    assert room["creator"] == alice.user_id
    assert room["joined_members"] == room["joined_local_members"] == 1
    assert room["version"] == "12"
    assert room["join_rules"] == "public"
    assert room["federatable"] is True
    assert room["encryption"] is None
    second = await root.get(
        "/_synapse/admin/v1/rooms", params={"limit": "2", "from": str(first["next_batch"])}
    )
    body = second.json()
    assert [r["name"] for r in body["rooms"]] == ["Oncology"]
    assert "next_batch" not in body
    assert body["prev_batch"] == 0


async def test_order_by_dir_and_search_term(hs: Homeserver) -> None:
    root, _, rooms = await _rooms(hs)
    bob = await hs.register_user("bob")
    await bob.join(rooms[2])

    by_size = await root.get(
        "/_synapse/admin/v1/rooms", params={"order_by": "joined_members", "dir": "f"}
    )
    assert by_size.json()["rooms"][0]["room_id"] == rooms[2]  # largest first
    backwards = await root.get("/_synapse/admin/v1/rooms", params={"dir": "b"})
    assert [r["name"] for r in backwards.json()["rooms"]] == ["Oncology", "Neurology", "Cardiology"]
    found = await root.get("/_synapse/admin/v1/rooms", params={"search_term": "neuro"})
    assert [r["room_id"] for r in found.json()["rooms"]] == [rooms[1]]
    assert found.json()["total_rooms"] == 1


async def test_public_and_empty_filters_and_deprecated_orders(hs: Homeserver) -> None:
    """ "`public_rooms` - Optional flag to filter public rooms"; "`empty_rooms` - ... A room is
    empty if joined_members is zero"; "`alphabetical` - Same as `name`"."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    listed = await alice.create_room(name="Listed", visibility="public", preset="public_chat")
    empty = await alice.create_room(name="Empty")
    assert (await alice.post(f"/rooms/{empty}/leave", json={})).status_code == 200

    public = await root.get("/_synapse/admin/v1/rooms", params={"public_rooms": "true"})
    assert [r["room_id"] for r in public.json()["rooms"]] == [listed]
    assert public.json()["rooms"][0]["public"] is True
    only_empty = await root.get("/_synapse/admin/v1/rooms", params={"empty_rooms": "true"})
    assert [r["room_id"] for r in only_empty.json()["rooms"]] == [empty]
    for order in ("alphabetical", "size"):
        resp = await root.get("/_synapse/admin/v1/rooms", params={"order_by": order})
        assert resp.status_code == 200, order


@pytest.mark.parametrize("bad", [{"order_by": "room_id"}, {"dir": "x"}])
async def test_an_unknown_order_or_direction_is_400(hs: Homeserver, bad: dict[str, str]) -> None:
    root = await hs.register_user("root", admin=True)
    resp = await root.get("/_synapse/admin/v1/rooms", params=bad)
    assert errcode(resp) == (400, "M_INVALID_PARAM")


async def test_details_members_and_state(hs: Homeserver) -> None:
    root, alice, rooms = await _rooms(hs)
    await alice.put(f"/rooms/{rooms[0]}/state/m.room.topic/", json={"topic": "Hearts"})

    details = (await root.get(f"/_synapse/admin/v1/rooms/{rooms[0]}")).json()
    assert set(details) == DETAIL_FIELDS
    assert details["topic"] == "Hearts"
    assert details["joined_local_devices"] == 1
    assert details["forgotten"] is False
    assert details["tombstoned"] is False
    members = (await root.get(f"/_synapse/admin/v1/rooms/{rooms[0]}/members")).json()
    assert members == {"members": [alice.user_id], "total": 1}
    state = (await root.get(f"/_synapse/admin/v1/rooms/{rooms[0]}/state")).json()
    assert {(e["type"], e["state_key"]) for e in state["state"]} >= {
        ("m.room.create", ""), ("m.room.power_levels", ""), ("m.room.topic", ""),
    }  # fmt: skip
    only = await root.get(
        f"/_synapse/admin/v1/rooms/{rooms[0]}/state", params={"type": "m.room.topic"}
    )
    assert [e["content"] for e in only.json()["state"]] == [{"topic": "Hearts"}]


async def test_an_unknown_room_is_404(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    for suffix in ("", "/members", "/state"):
        resp = await root.get(f"/_synapse/admin/v1/rooms/!nope:{hs.server_name}{suffix}")
        assert errcode(resp) == (404, "M_NOT_FOUND")


async def test_every_route_refuses_a_non_admin(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    for path in ("", f"/{room_id}", f"/{room_id}/members", f"/{room_id}/state"):
        resp = await alice.get(f"/_synapse/admin/v1/rooms{path}")
        assert errcode(resp) == (403, "M_FORBIDDEN"), path
