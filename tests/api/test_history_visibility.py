"""History visibility enforced on every read path: /messages, /context, /event, /sync."""

from __future__ import annotations

from tests.api.rooms_helpers import bodies, room_with_history, timeline
from tests.conftest import Homeserver, UserClient


async def readable_bodies(bob: UserClient, room_id: str) -> list[str]:
    page = (await bob.get(f"/rooms/{room_id}/messages", params={"limit": "50"})).json()
    return bodies(page["chunk"])


async def test_joined_visibility_hides_history_before_join(hs: Homeserver) -> None:
    alice, bob, room_id, early = await room_with_history(hs, "joined")
    await bob.join(room_id)
    await alice.send_text(room_id, "after bob")
    assert await readable_bodies(bob, room_id) == ["after bob"]
    assert (await bob.get(f"/rooms/{room_id}/event/{early}")).status_code == 404
    assert (await bob.get(f"/rooms/{room_id}/context/{early}")).status_code == 404
    sync = await bob.sync(filter='{"room": {"timeline": {"limit": 50}}}')
    assert "before bob" not in bodies(timeline(sync, room_id))
    assert "before bob" in await readable_bodies(alice, room_id)


async def test_shared_visibility_shows_history_to_new_members(hs: Homeserver) -> None:
    _alice, bob, room_id, early = await room_with_history(hs, "shared")
    assert (await bob.get(f"/rooms/{room_id}/event/{early}")).status_code == 403  # not yet joined
    await bob.join(room_id)
    assert "before bob" in await readable_bodies(bob, room_id)
    assert (await bob.get(f"/rooms/{room_id}/event/{early}")).status_code == 200


async def test_invited_visibility(hs: Homeserver) -> None:
    alice, bob, room_id, _ = await room_with_history(hs, "invited")
    await alice.post(f"/rooms/{room_id}/invite", json={"user_id": bob.user_id})
    await alice.send_text(room_id, "while invited")
    await bob.join(room_id)
    assert await readable_bodies(bob, room_id) == ["while invited"]


async def test_world_readable_room_is_readable_without_joining(hs: Homeserver) -> None:
    _alice, bob, room_id, early = await room_with_history(hs, "world_readable")
    assert (await bob.get(f"/rooms/{room_id}/event/{early}")).status_code == 200
    assert await readable_bodies(bob, room_id) == ["before bob"]


async def test_who_left_sees_nothing_after_leaving(hs: Homeserver) -> None:
    alice, bob, room_id, _ = await room_with_history(hs, "shared")
    await bob.join(room_id)
    await alice.send_text(room_id, "while bob is here")
    await bob.post(f"/rooms/{room_id}/leave", json={})
    later = await alice.send_text(room_id, "after bob left")
    assert await readable_bodies(bob, room_id) == ["while bob is here", "before bob"]
    assert (await bob.get(f"/rooms/{room_id}/event/{later}")).status_code == 404
    names = {e["content"].get("name") for e in (await bob.get(f"/rooms/{room_id}/state")).json()}
    await alice.put(f"/rooms/{room_id}/state/m.room.name", json={"name": "secret new name"})
    after = {e["content"].get("name") for e in (await bob.get(f"/rooms/{room_id}/state")).json()}
    assert "secret new name" not in after
    assert after == names
    assert (await bob.get(f"/rooms/{room_id}/state/m.room.name")).status_code == 404


async def test_an_invitee_sees_no_state_or_members_before_joining(hs: Homeserver) -> None:
    alice, bob, room_id, early = await room_with_history(hs, "shared")
    await alice.post(f"/rooms/{room_id}/invite", json={"user_id": bob.user_id})
    for path in ("state", "members", "state/m.room.name", "joined_members"):
        resp = await bob.get(f"/rooms/{room_id}/{path}")
        assert resp.status_code == 403, (path, resp.text)
    assert (await bob.get(f"/rooms/{room_id}/event/{early}")).status_code == 404
    assert await readable_bodies(bob, room_id) == []
    await bob.join(room_id)
    assert (await bob.get(f"/rooms/{room_id}/members")).status_code == 200
