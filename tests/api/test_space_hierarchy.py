"""`GET /_matrix/client/v1/rooms/{roomId}/hierarchy`, each test from the spec's text ("Spaces",
space_hierarchy.yaml): the walk, its order, who sees which room, pages and their tokens, and
bad parameters."""

from __future__ import annotations

from typing import Any

from tests.conftest import Homeserver, UserClient, errcode

SPACE = {"type": "m.space"}
VIA = ["test.bastion"]


def state(event_type: str, content: dict[str, Any], state_key: str = "") -> dict[str, Any]:
    return {"type": event_type, "state_key": state_key, "content": content}


def hierarchy_path(room_id: str) -> str:
    return f"/_matrix/client/v1/rooms/{room_id}/hierarchy"


async def hierarchy(user: UserClient, room_id: str, **params: Any) -> dict[str, Any]:
    resp = await user.get(hierarchy_path(room_id), params={k: str(v) for k, v in params.items()})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def add_child(user: UserClient, space: str, child: str, **content: Any) -> dict[str, Any]:
    """Send `m.space.child` for `child` into `space` (`via` unless given); its content."""
    body = {"via": VIA} | content
    resp = await user.put(f"/rooms/{space}/state/m.space.child/{child}", json=body)
    assert resp.status_code == 200, resp.text
    return body


def ids(page: dict[str, Any]) -> list[str]:
    return [room["room_id"] for room in page["rooms"]]


async def test_the_walk_is_depth_first_in_the_spec_order(hs: Homeserver) -> None:
    """Children with a valid `order` first (by code point), then by the child event's
    timestamp, then by room ID; a sub-space's rooms right after it; rooms the server does not
    know, and children without `via`, left out."""
    alice = await hs.register_user("alice")
    space = await alice.create_room(name="Hospital", creation_content=SPACE)
    wards = await alice.create_room(name="Wards", creation_content=SPACE)
    ward_a = await alice.create_room(name="Ward A")
    pharmacy = await alice.create_room(name="Pharmacy", topic="Orders and stock")
    radiology = await alice.create_room(name="Radiology")
    removed = await alice.create_room(name="Removed")

    await add_child(alice, space, wards)  # no order: after the ordered ones, by time
    hs.clock.advance(1000)
    await add_child(alice, space, radiology, order="b")
    await add_child(alice, space, pharmacy, order="a")
    await add_child(alice, space, "!unknown:test.bastion", order="0")  # not on this server
    await add_child(alice, space, removed, via=[])  # no via: not a child
    await add_child(alice, space, ward_a, order="\x7f bad")  # invalid order: by time
    await add_child(alice, wards, ward_a)

    page = await hierarchy(alice, space)
    # ward_a is under the space and under wards: shown once, where the walk meets it first.
    assert ids(page) == [space, pharmacy, radiology, wards, ward_a]
    assert "next_batch" not in page
    root = page["rooms"][0]
    children = root["children_state"]
    assert [c["state_key"] for c in children] == [
        "!unknown:test.bastion",
        pharmacy,
        radiology,
        wards,
        ward_a,
    ]
    assert all(c["type"] == "m.space.child" and c["sender"] == alice.user_id for c in children)
    assert all(isinstance(c["origin_server_ts"], int) for c in children)
    assert children[1]["content"] == {"via": VIA, "order": "a"}
    assert root["room_type"] == "m.space"
    assert root["name"] == "Hospital"
    assert root["num_joined_members"] == 1
    assert root["world_readable"] is False
    assert root["guest_can_join"] is True
    assert root["join_rule"] == "invite"
    pharmacy_room = page["rooms"][1]
    assert pharmacy_room["children_state"] == []  # not a space
    assert pharmacy_room["topic"] == "Orders and stock"
    assert "room_type" not in pharmacy_room


async def test_a_loop_ends_and_each_room_is_shown_once(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    outer = await alice.create_room(name="Outer", creation_content=SPACE)
    inner = await alice.create_room(name="Inner", creation_content=SPACE)
    await add_child(alice, outer, inner)
    await add_child(alice, inner, outer)  # disallowed by the spec, possible all the same
    assert ids(await hierarchy(alice, outer)) == [outer, inner]
    assert ids(await hierarchy(alice, inner)) == [inner, outer]


async def test_who_sees_which_room(hs: Homeserver) -> None:
    """Joined or invited, a public or knock join rule, restricted to a room the requester is
    in, or world-readable history: shown. Anything else is neither shown nor walked into; a
    root the requester may not see is 403, like one that does not exist."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    space = await alice.create_room(name="Clinic", creation_content=SPACE, preset="public_chat")
    private = await alice.create_room(name="Board")
    hidden_space = await alice.create_room(name="Board rooms", creation_content=SPACE)
    hidden_child = await alice.create_room(name="Budget", preset="public_chat")
    invited = await alice.create_room(name="Rota", invite=[bob.user_id])
    public = await alice.create_room(name="Lobby", preset="public_chat")
    knock = await alice.create_room(
        name="Doors", initial_state=[state("m.room.join_rules", {"join_rule": "knock"})]
    )
    allow = [{"type": "m.room_membership", "room_id": space}]
    restricted = await alice.create_room(
        name="Staff",
        initial_state=[state("m.room.join_rules", {"join_rule": "restricted", "allow": allow})],
    )
    other = await alice.create_room(name="Elsewhere")
    allow_other = [{"type": "m.room_membership", "room_id": other}]
    restricted_elsewhere = await alice.create_room(
        name="Elsewhere staff",
        initial_state=[
            state("m.room.join_rules", {"join_rule": "restricted", "allow": allow_other})
        ],
    )
    readable = await alice.create_room(
        name="Notices",
        initial_state=[
            state("m.room.history_visibility", {"history_visibility": "world_readable"})
        ],
    )
    for child in (private, hidden_space, invited, public, knock, restricted,
                  restricted_elsewhere, readable):  # fmt: skip
        await add_child(alice, space, child)
    await add_child(alice, hidden_space, hidden_child)

    # bob has not joined the space yet: restricted to its members is not for him.
    before = set(ids(await hierarchy(bob, space)))
    assert before == {space, invited, public, knock, readable}
    await bob.join(space)
    page = await hierarchy(bob, space)
    assert set(ids(page)) == {space, invited, public, knock, restricted, readable}
    staff = next(r for r in page["rooms"] if r["room_id"] == restricted)
    assert staff["allowed_room_ids"] == [space]
    assert staff["join_rule"] == "restricted"
    # The space's own children_state still names every child: it is the space's state, which
    # bob may see; the rooms themselves are what he may not.
    assert len(page["rooms"][0]["children_state"]) == 8
    # alice, in every room, sees the whole tree, the hidden space's child included.
    assert hidden_child in ids(await hierarchy(alice, space))

    # A root bob may not see answers as a room that does not exist.
    forbidden = await bob.get(hierarchy_path(private))
    missing = await bob.get(hierarchy_path("!missing:test.bastion"))
    assert errcode(forbidden) == errcode(missing) == (403, "M_FORBIDDEN")


async def test_pages_max_depth_and_suggested_only(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    space = await alice.create_room(name="Space", creation_content=SPACE)
    sub = await alice.create_room(name="Sub", creation_content=SPACE)
    rooms = [await alice.create_room(name=f"Room {i}") for i in range(5)]
    deep = await alice.create_room(name="Deep")
    await add_child(alice, space, sub, order="0", suggested=True)
    for i, room_id in enumerate(rooms):
        await add_child(alice, space, room_id, order=str(i + 1), suggested=i % 2 == 0)
    await add_child(alice, sub, deep)
    whole = ids(await hierarchy(alice, space))
    assert whole == [space, sub, deep, *rooms]

    seen: list[str] = []
    params: dict[str, Any] = {"limit": 3}
    pages = 0
    while True:
        page = await hierarchy(alice, space, **params)
        pages += 1
        assert len(page["rooms"]) <= 3
        seen += ids(page)
        if "next_batch" not in page:
            break
        params = {"limit": 3, "from": page["next_batch"]}
    assert seen == whole
    assert pages == 3

    assert ids(await hierarchy(alice, space, max_depth=0)) == [space]
    assert ids(await hierarchy(alice, space, max_depth=1)) == [space, sub, *rooms]
    # Only suggested children, at every level (deep is not suggested in sub).
    suggested = await hierarchy(alice, space, suggested_only="true")
    assert ids(suggested) == [space, sub, rooms[0], rooms[2], rooms[4]]

    # A token carries its request: another suggested_only, max_depth or room is refused.
    token = (await hierarchy(alice, space, limit=1))["next_batch"]
    for changed in ({"suggested_only": "true"}, {"max_depth": "1"}):
        resp = await alice.get(hierarchy_path(space), params={"from": token, **changed})
        assert errcode(resp) == (400, "M_INVALID_PARAM")
    resp = await alice.get(hierarchy_path(sub), params={"from": token})
    assert errcode(resp) == (400, "M_INVALID_PARAM")
    resp = await alice.get(hierarchy_path(space), params={"from": "not a token"})
    assert errcode(resp) == (400, "M_INVALID_PARAM")


async def test_bad_parameters_and_no_token(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    space = await alice.create_room(name="Space", creation_content=SPACE)
    for params in ({"limit": "0"}, {"limit": "x"}, {"max_depth": "-1"},
                   {"suggested_only": "yes"}):  # fmt: skip
        resp = await alice.get(hierarchy_path(space), params=params)
        assert errcode(resp) == (400, "M_INVALID_PARAM"), params
    # Above the server's maxima: lowered, not refused.
    assert ids(await hierarchy(alice, space, limit=100000, max_depth=100000)) == [space]
    resp = await hs.http.get(hierarchy_path(space))
    assert errcode(resp) == (401, "M_MISSING_TOKEN")
