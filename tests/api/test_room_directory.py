"""The published room directory (/publicRooms, /directory/list/room) and room summaries."""

from __future__ import annotations

from typing import Any

import pytest

from bastion.config import DirectoryConfig
from tests.conftest import Homeserver, UserClient, errcode

OPEN_DIRECTORY = {"directory": DirectoryConfig(public_rooms_require_auth=False)}
SUMMARY = "/_matrix/client/v1/room_summary"


def state(event_type: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"type": event_type, "state_key": "", "content": content}


WORLD_READABLE = state("m.room.history_visibility", {"history_visibility": "world_readable"})


async def public_rooms(user: UserClient, **params: Any) -> dict[str, Any]:
    resp = await user.get("/publicRooms", params={k: str(v) for k, v in params.items()})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def search_rooms(user: UserClient, body: dict[str, Any]) -> list[str]:
    resp = await user.post("/publicRooms", json=body)
    assert resp.status_code == 200, resp.text
    return [r["room_id"] for r in resp.json()["chunk"]]


async def test_created_public_rooms_are_listed_with_their_details(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    avatar = "mxc://test.bastion/avatar"
    big = await alice.create_room(
        visibility="public",
        name="Żółw Team",
        topic="All about turtles",
        room_alias_name="turtles",
        initial_state=[state("m.room.avatar", {"url": avatar})],
    )
    await bob.join(big)
    space = await alice.create_room(
        visibility="public",
        creation_content={"type": "m.space"},
        initial_state=[
            state("m.room.history_visibility", {"history_visibility": "world_readable"})
        ],
    )
    private = await alice.create_room(name="Hidden")

    listing = await public_rooms(bob)
    assert listing == {
        "chunk": [
            {
                "room_id": big,
                "num_joined_members": 2,
                "world_readable": False,
                "guest_can_join": False,
                "name": "Żółw Team",
                "topic": "All about turtles",
                "canonical_alias": "#turtles:test.bastion",
                "avatar_url": avatar,
                "join_rule": "public",
            },
            {
                "room_id": space,
                "num_joined_members": 1,
                "world_readable": True,
                "guest_can_join": False,
                "join_rule": "public",
                "room_type": "m.space",
            },
        ],
        "total_room_count_estimate": 2,
    }
    assert (await bob.get(f"/directory/list/room/{big}")).json() == {"visibility": "public"}
    assert (await bob.get(f"/directory/list/room/{private}")).json() == {"visibility": "private"}
    resp = await bob.get("/directory/list/room/!unknown:test.bastion")
    assert errcode(resp) == (404, "M_NOT_FOUND")


async def test_pagination_order_and_filters(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    rooms = [await alice.create_room(visibility="public", name=f"Room {i}") for i in range(3)]
    await bob.join(rooms[2])  # the largest room comes first; the others by room ID
    order = [rooms[2], *sorted(rooms[:2])]

    first = await public_rooms(alice, limit=2)
    assert [r["room_id"] for r in first["chunk"]] == order[:2]
    assert first["total_room_count_estimate"] == 3
    assert "prev_batch" not in first
    second = await public_rooms(alice, limit=2, since=first["next_batch"])
    assert [r["room_id"] for r in second["chunk"]] == order[2:]
    assert "next_batch" not in second
    back = await public_rooms(alice, limit=2, since=second["prev_batch"])
    assert [r["room_id"] for r in back["chunk"]] == order[:2]
    assert errcode(await alice.get("/publicRooms", params={"since": "x1"})) == (
        400,
        "M_INVALID_PARAM",
    )
    assert errcode(await alice.get("/publicRooms", params={"limit": "ten"})) == (
        400,
        "M_INVALID_PARAM",
    )
    # POST pages the same way.
    resp = await alice.post("/publicRooms", json={"limit": 1, "since": first["next_batch"]})
    assert [r["room_id"] for r in resp.json()["chunk"]] == order[2:3]


async def test_search_and_room_types(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    turtles = await alice.create_room(visibility="public", name="Żółw Team")
    arabic = await alice.create_room(visibility="public", topic="مَرْحَبًا بِالْعَالَمِ")
    aliased = await alice.create_room(visibility="public", room_alias_name="general")
    space = await alice.create_room(visibility="public", creation_content={"type": "m.space"})
    await alice.create_room(name="Żółw secrets")  # not published: never found

    def term(text: str) -> dict[str, Any]:
        return {"filter": {"generic_search_term": text}}

    assert await search_rooms(alice, term("zolw")) == [turtles]
    assert await search_rooms(alice, term("TEAM zol")) == [turtles]
    assert await search_rooms(alice, term("مرحبا")) == [arabic]
    assert await search_rooms(alice, term("#general")) == [aliased]
    assert await search_rooms(alice, term("nothing like it")) == []
    assert await search_rooms(alice, {"filter": {"room_types": ["m.space"]}}) == [space]
    assert len(await search_rooms(alice, {"filter": {"room_types": [None]}})) == 3
    resp = await alice.post("/publicRooms", json={**term("zolw"), "limit": 10})
    assert resp.json()["total_room_count_estimate"] == 1
    # No application services: a third-party network lists nothing.
    assert await search_rooms(alice, {"third_party_instance_id": "irc"}) == []
    assert errcode(await alice.post("/publicRooms", json={"limit": "x"})) == (400, "M_BAD_JSON")


async def test_who_may_publish(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    admin = await hs.register_user("admin", admin=True)
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    path = f"/directory/list/room/{room_id}"

    # bob is in the room without the power to set its address; carol is not in it.
    assert errcode(await bob.put(path, json={"visibility": "public"})) == (403, "M_FORBIDDEN")
    assert errcode(await carol.put(path, json={"visibility": "public"})) == (403, "M_FORBIDDEN")
    assert (await alice.get(path)).json() == {"visibility": "private"}
    # The room's admin may; the spec's default visibility is public.
    assert (await alice.put(path, json={})).status_code == 200
    assert [r["room_id"] for r in (await public_rooms(carol))["chunk"]] == [room_id]
    # A server admin may without being in the room.
    assert (await admin.put(path, json={"visibility": "private"})).status_code == 200
    assert (await public_rooms(carol))["chunk"] == []
    assert (await alice.get(path)).json() == {"visibility": "private"}
    # Raising bob to the canonical alias level lets him.
    levels = (await alice.get(f"/rooms/{room_id}/state/m.room.power_levels")).json()
    levels["users"][bob.user_id] = 50
    await alice.put(f"/rooms/{room_id}/state/m.room.power_levels", json=levels)
    assert (await bob.put(path, json={"visibility": "public"})).status_code == 200
    assert (await alice.get(path)).json() == {"visibility": "public"}

    assert errcode(await alice.put(path, json={"visibility": "secret"})) == (400, "M_BAD_JSON")
    unknown = "/directory/list/room/!nope:test.bastion"
    assert errcode(await admin.put(unknown, json={"visibility": "public"})) == (404, "M_NOT_FOUND")
    resp = await hs.http.put(f"/_matrix/client/v3{path}", json={"visibility": "private"})
    assert errcode(resp) == (401, "M_MISSING_TOKEN")


async def test_directory_needs_a_token_by_default(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(visibility="public")
    for resp in (
        await hs.http.get("/_matrix/client/v3/publicRooms"),
        await hs.http.post("/_matrix/client/v3/publicRooms", json={}),
        await hs.http.get(f"{SUMMARY}/{room_id}"),
    ):
        assert errcode(resp) == (401, "M_MISSING_TOKEN")
    bad_token = {"Authorization": "Bearer nope"}
    resp = await hs.http.get("/_matrix/client/v3/publicRooms", headers=bad_token)
    assert errcode(resp) == (401, "M_UNKNOWN_TOKEN")
    resp = await alice.get("/publicRooms", params={"server": "elsewhere.example"})
    assert errcode(resp) == (400, "M_INVALID_PARAM")
    assert (await alice.get("/publicRooms", params={"server": "test.bastion"})).status_code == 200


async def test_room_visibility_is_readable_without_a_token(hs: Homeserver) -> None:
    """spec: GET /directory/list/room/{roomId} "Gets the visibility of a given room in the
    server's published room directory" and has no security requirement, whatever
    `directory.public_rooms_require_auth` says; changing it still needs a token and the power."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    public = await alice.create_room(visibility="public")
    private = await alice.create_room(preset="public_chat")
    await bob.join(private)
    path = "/_matrix/client/v3/directory/list/room"
    resp = await hs.http.get(f"{path}/{public}")
    assert (resp.status_code, resp.json()) == (200, {"visibility": "public"})
    resp = await hs.http.get(f"{path}/{private}")
    assert (resp.status_code, resp.json()) == (200, {"visibility": "private"})
    assert errcode(await hs.http.get(f"{path}/!nope:test.bastion")) == (404, "M_NOT_FOUND")

    resp = await hs.http.put(f"{path}/{private}", json={"visibility": "public"})
    assert errcode(resp) == (401, "M_MISSING_TOKEN")
    resp = await bob.put(f"/directory/list/room/{private}", json={"visibility": "public"})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert (await hs.http.get(f"{path}/{private}")).json() == {"visibility": "private"}


@pytest.mark.parametrize("config_overrides", [OPEN_DIRECTORY])
async def test_open_directory_lists_and_previews_without_a_token(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    public = await alice.create_room(visibility="public", name="Lobby")
    private = await alice.create_room(name="Board")

    resp = await hs.http.get("/_matrix/client/v3/publicRooms")
    assert [r["room_id"] for r in resp.json()["chunk"]] == [public]
    resp = await hs.http.get(f"/_matrix/client/v3/directory/list/room/{public}")
    assert resp.json() == {"visibility": "public"}
    preview = (await hs.http.get(f"{SUMMARY}/{public}")).json()
    assert preview["name"] == "Lobby"
    assert "membership" not in preview
    assert errcode(await hs.http.get(f"{SUMMARY}/{private}")) == (404, "M_NOT_FOUND")
    # Changing the directory still needs a token.
    resp = await hs.http.put(f"/_matrix/client/v3/directory/list/room/{private}", json={})
    assert errcode(resp) == (401, "M_MISSING_TOKEN")


async def test_room_summary_for_members_and_previewable_rooms(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    encrypted = await alice.create_room(
        name="Secret plans",
        room_alias_name="plans",
        invite=[bob.user_id],
        initial_state=[state("m.room.encryption", {"algorithm": "m.megolm.v1.aes-sha2"})],
    )
    summary = (await alice.get(f"{SUMMARY}/{encrypted}")).json()
    assert summary == {
        "room_id": encrypted,
        "num_joined_members": 1,
        "world_readable": False,
        "guest_can_join": True,
        "name": "Secret plans",
        "canonical_alias": "#plans:test.bastion",
        "join_rule": "invite",
        "room_version": "12",
        "encryption": "m.megolm.v1.aes-sha2",
        "membership": "join",
    }
    by_alias = (await bob.get(f"{SUMMARY}/%23plans:test.bastion")).json()
    assert by_alias["room_id"] == encrypted
    assert by_alias["membership"] == "invite"

    # carol is not in the private room: it is as unknown to her as a room that does not exist.
    hidden = await carol.get(f"{SUMMARY}/{encrypted}")
    missing = await carol.get(f"{SUMMARY}/!missing:test.bastion")
    assert errcode(hidden) == errcode(missing) == (404, "M_NOT_FOUND")
    assert errcode(await carol.get(f"{SUMMARY}/%23plans:test.bastion")) == (404, "M_NOT_FOUND")
    assert errcode(await carol.get(f"{SUMMARY}/%23nope:test.bastion")) == (404, "M_NOT_FOUND")
    assert errcode(await carol.get(f"{SUMMARY}/plans")) == (400, "M_INVALID_PARAM")

    # Public, knock and world-readable rooms can be previewed by anyone signed in.
    public = await alice.create_room(preset="public_chat", name="Open")
    knock = await alice.create_room(
        initial_state=[state("m.room.join_rules", {"join_rule": "knock"})]
    )
    readable = await alice.create_room(
        initial_state=[state("m.room.history_visibility", {"history_visibility": "world_readable"})]
    )
    for room_id in (public, knock, readable):
        preview = await carol.get(f"{SUMMARY}/{room_id}")
        assert preview.status_code == 200, preview.text
        assert preview.json()["membership"] == "leave"
    assert (await carol.get(f"{SUMMARY}/{public}")).json()["join_rule"] == "public"
    assert (await carol.get(f"{SUMMARY}/{knock}")).json()["join_rule"] == "knock"
    assert (await carol.get(f"{SUMMARY}/{readable}")).json()["world_readable"] is True
    # Someone who left a private room cannot preview it any more.
    await bob.join(encrypted)
    assert (await bob.post(f"/rooms/{encrypted}/leave", json={})).status_code == 200
    assert errcode(await bob.get(f"{SUMMARY}/{encrypted}")) == (404, "M_NOT_FOUND")


async def test_room_summary_of_a_restricted_room(hs: Homeserver) -> None:
    """room_summary.yaml (v1.15) `allowed_room_ids`: "If the room is a restricted room, these are
    the room IDs which are specified by the join rules. Empty or omitted otherwise." A member of
    an allowed room may join, so may preview it (as /hierarchy shows it to them); others may not."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    staff = await alice.create_room(name="Staff", invite=[bob.user_id])
    await bob.join(staff)
    restricted = await alice.create_room(
        name="Ward rota",
        initial_state=[
            state(
                "m.room.join_rules",
                {
                    "join_rule": "restricted",
                    "allow": [
                        {"type": "m.room_membership", "room_id": staff},
                        {"type": "m.something_else", "room_id": "!ignored:test.bastion"},
                    ],
                },
            )
        ],
    )
    mine = (await alice.get(f"{SUMMARY}/{restricted}")).json()
    assert (mine["join_rule"], mine["allowed_room_ids"]) == ("restricted", [staff])
    preview = await bob.get(f"{SUMMARY}/{restricted}")
    assert preview.status_code == 200, preview.text
    assert preview.json()["membership"] == "leave"
    assert preview.json()["allowed_room_ids"] == [staff]
    assert errcode(await carol.get(f"{SUMMARY}/{restricted}")) == (404, "M_NOT_FOUND")
    # Invited to the allowed room is not joined to it.
    await alice.post(f"/rooms/{staff}/invite", json={"user_id": carol.user_id})
    assert errcode(await carol.get(f"{SUMMARY}/{restricted}")) == (404, "M_NOT_FOUND")
    # Not restricted: no `allowed_room_ids`.
    assert "allowed_room_ids" not in (await alice.get(f"{SUMMARY}/{staff}")).json()


async def test_a_redacted_name_is_no_name(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(visibility="public", name="Old name")
    room_state = (await alice.get(f"/rooms/{room_id}/state")).json()
    name_id = next(e["event_id"] for e in room_state if e["type"] == "m.room.name")
    resp = await alice.put(f"/rooms/{room_id}/redact/{name_id}/t1", json={})
    assert resp.status_code == 200, resp.text

    entry = (await public_rooms(alice))["chunk"][0]
    assert entry["room_id"] == room_id
    assert "name" not in entry
    assert "name" not in (await alice.get(f"{SUMMARY}/{room_id}")).json()
    assert await search_rooms(alice, {"filter": {"generic_search_term": "old"}}) == []
