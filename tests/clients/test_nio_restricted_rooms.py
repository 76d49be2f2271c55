"""matrix-nio in a department's space: a room of the space that its members may join without an
invite (join rule `restricted`, what Element offers by default for a room made in a space), on
the real server over HTTP.

spec: client-server-api#restricted-rooms: "This room can be joined if you were invited or if you
are a member of another room listed in the join rules." A member of the space finds the room in
the space's hierarchy and joins it with nio's plain `join`; someone outside the space is refused
with 403.
"""

from __future__ import annotations

from nio import (
    JoinError,
    JoinResponse,
    RoomCreateResponse,
    RoomPutStateResponse,
    RoomVisibility,
    SpaceGetHierarchyResponse,
)

from tests.clients.nio_fixtures import NioFactory, log_in, send_text, sync
from tests.clients.server import BastionServer


async def test_a_member_of_the_space_joins_its_room_and_an_outsider_cannot(
    bastion_server: BastionServer, nio_client: NioFactory
) -> None:
    alice_id = bastion_server.create_user("alice")
    bob_id = bastion_server.create_user("bob")
    bastion_server.create_user("carol")
    alice, bob, carol = nio_client("alice"), nio_client("bob"), nio_client("carol")
    for client, device in ((alice, "alice's nio"), (bob, "bob's nio"), (carol, "carol's nio")):
        await log_in(client, device)

    space = await alice.room_create(visibility=RoomVisibility.public, name="Cardiology", space=True)
    assert isinstance(space, RoomCreateResponse), space
    server = alice_id.split(":", 1)[1]
    rules = {
        "join_rule": "restricted",
        "allow": [{"type": "m.room_membership", "room_id": space.room_id}],
    }
    room = await alice.room_create(
        name="Night rota",
        initial_state=[
            {"type": "m.room.join_rules", "state_key": "", "content": rules},
            {"type": "m.space.parent", "state_key": space.room_id, "content": {"via": [server]}},
        ],
    )
    assert isinstance(room, RoomCreateResponse), room
    child = await alice.room_put_state(
        space.room_id, "m.space.child", {"via": [server]}, state_key=room.room_id
    )
    assert isinstance(child, RoomPutStateResponse), child

    joined_space = await bob.join(space.room_id)
    assert isinstance(joined_space, JoinResponse), joined_space
    hierarchy = await bob.space_get_hierarchy(space.room_id)
    assert isinstance(hierarchy, SpaceGetHierarchyResponse), hierarchy
    listed = {r["room_id"]: r for r in hierarchy.rooms}
    assert listed[room.room_id]["join_rule"] == "restricted"

    joined = await bob.join(room.room_id)
    assert isinstance(joined, JoinResponse), joined
    await send_text(bob, room.room_id, "I can take Saturday")
    seen = await sync(alice)
    assert bob_id in alice.rooms[room.room_id].users
    assert alice.rooms[room.room_id].member_count == 2
    events = seen.rooms.join[room.room_id].timeline.events
    assert "I can take Saturday" in [e.source["content"].get("body") for e in events]

    refused = await carol.join(room.room_id)
    assert isinstance(refused, JoinError), refused
    assert refused.status_code == "M_FORBIDDEN"
    await sync(carol, timeout=0)
    assert room.room_id not in carol.rooms
