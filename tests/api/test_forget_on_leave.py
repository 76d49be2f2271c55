"""`[rooms] forget_on_leave` and the spec v1.18 `m.forget_forced_upon_leave` capability.

spec (client-server-api#mforget_forced_upon_leave-capability): "When `enabled` is `true` and the
user leaves a room, the server will automatically forget the room — just as if the user had
called /forget themselves. This behavior applies irrespective of whether the user has left the
room on their own (through /leave) or has been kicked or banned from the room by another user."

A forgotten room is one the user no longer sees: not in /sync even with `include_leave` ("Rooms
which have been forgotten will never appear in the response to the /sync API"), and its history
refused ("a user will no longer be able to retrieve history for this room").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from bastion.config import RoomsConfig
from tests.api.rooms_helpers import bodies
from tests.conftest import Homeserver, UserClient, errcode, homeserver_with

LEAVE_FILTER = '{"room": {"include_leave": true}}'
CAPABILITY = "m.forget_forced_upon_leave"


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    """`hs` in this module forgets rooms upon leave; the default server is made where needed."""
    return {"rooms": RoomsConfig(forget_on_leave=True)}


class Room(NamedTuple):
    alice: UserClient  # the creator, who stays
    bob: UserClient  # the member who leaves, one way or another
    room_id: str


async def _room(hs: Homeserver) -> Room:
    """alice's public room, with a message bob (a member) could read."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    await alice.send_text(room_id, "before the leave")
    return Room(alice, bob, room_id)


async def _capability(user: UserClient) -> Any:
    resp = await user.get("/capabilities")
    assert resp.status_code == 200, resp.text
    return resp.json()["capabilities"].get(CAPABILITY)


async def _in_leave_sync(user: UserClient, room_id: str) -> bool:
    return room_id in (await user.sync(filter=LEAVE_FILTER))["rooms"]["leave"]


async def _history(user: UserClient, room_id: str) -> list[str]:
    resp = await user.get(f"/rooms/{room_id}/messages", params={"dir": "b", "limit": "50"})
    assert resp.status_code == 200, resp.text
    return bodies(resp.json()["chunk"])


async def _assert_forgotten(user: UserClient, room_id: str) -> None:
    """Forgotten as /forget leaves a room: out of every sync, history refused."""
    assert not await _in_leave_sync(user, room_id)
    assert errcode(await user.get(f"/rooms/{room_id}/messages")) == (403, "M_FORBIDDEN")


async def test_the_capability_is_false_by_default(tmp_path: Path, database_config: Any) -> None:
    """ "When `enabled` is `false`, the server does not automatically forget rooms upon leave."
    It is listed all the same: absent, clients assume false, but they need not guess."""
    async with homeserver_with(tmp_path, database_config) as default:
        alice = await default.register_user("alice")
        assert await _capability(alice) == {"enabled": False}


async def test_the_capability_is_true_when_configured(hs: Homeserver) -> None:
    """ "Servers that do this, MUST inform clients about this behavior using the
    m.forget_forced_upon_leave capability." (leaving.yaml, /leave)"""
    alice = await hs.register_user("alice")
    assert await _capability(alice) == {"enabled": True}


async def test_leaving_forgets_the_room(hs: Homeserver) -> None:
    """ "the user leaves a room [...] through /leave": the room is forgotten at once, for the
    leaver only; the leave itself is stored as usual."""
    alice, bob, room_id = await _room(hs)
    assert await _history(bob, room_id) == ["before the leave"]
    assert (await bob.post(f"/rooms/{room_id}/leave", json={})).status_code == 200
    await _assert_forgotten(bob, room_id)
    member = await alice.get(f"/rooms/{room_id}/state/m.room.member/{bob.user_id}")
    assert member.json()["membership"] == "leave"
    assert await _history(alice, room_id) == ["before the leave"]  # alice forgets nothing
    # Forgetting again, as a client unaware of the setting would, is still accepted.
    assert (await bob.post(f"/rooms/{room_id}/forget", json={})).status_code == 200


async def _kick(alice: UserClient, bob: UserClient, room_id: str) -> None:
    resp = await alice.post(f"/rooms/{room_id}/kick", json={"user_id": bob.user_id})
    assert resp.status_code == 200, resp.text


async def _ban(alice: UserClient, bob: UserClient, room_id: str) -> None:
    resp = await alice.post(f"/rooms/{room_id}/ban", json={"user_id": bob.user_id})
    assert resp.status_code == 200, resp.text


Removal = Callable[[UserClient, UserClient, str], Awaitable[None]]


@pytest.mark.parametrize("remove", [_kick, _ban], ids=["kick", "ban"])
async def test_being_kicked_or_banned_forgets_the_room(hs: Homeserver, remove: Removal) -> None:
    """ "irrespective of whether the user has left the room on their own [...] or has been kicked
    or banned from the room by another user"; the remover forgets nothing."""
    alice, bob, room_id = await _room(hs)
    assert await _history(bob, room_id) == ["before the leave"]
    since = (await bob.sync())["next_batch"]  # another client of bob's, up to date
    await remove(alice, bob, room_id)
    await _assert_forgotten(bob, room_id)
    # That client's next sync still learns the room is gone: the kick or ban alone, no history
    # (what Synapse sends; without it, it would show the room as joined: matrix-spec#1458).
    timeline = (await bob.sync(since))["rooms"]["leave"][room_id]["timeline"]["events"]
    assert [(e["sender"], e["content"]["membership"]) for e in timeline] == [
        (alice.user_id, remove.__name__.removeprefix("_").replace("kick", "leave"))
    ]
    assert room_id in (await alice.sync())["rooms"]["join"]
    assert await _history(alice, room_id) == ["before the leave"]


async def test_rejecting_or_losing_an_invite_forgets_the_room(hs: Homeserver) -> None:
    """A rejected invite (the invitee's own leave) and a withdrawn one (a kick of the invitee)
    are leaves too: the room stays out of the invitee's `include_leave` syncs."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room_id = await alice.create_room(preset="private_chat", invite=[bob.user_id, carol.user_id])
    assert room_id in (await bob.sync())["rooms"]["invite"]
    assert (await bob.post(f"/rooms/{room_id}/leave", json={})).status_code == 200
    assert not await _in_leave_sync(bob, room_id)
    await _kick(alice, carol, room_id)
    assert not await _in_leave_sync(carol, room_id)


async def test_offboarding_leaves_forget_the_room(hs: Homeserver) -> None:
    """Every path to a leave forgets, not only the client endpoints: an account deactivated by
    an admin leaves its rooms, and the room is then forgotten by every local member (Synapse's
    room details `forgotten`)."""
    root = await hs.register_user("root", admin=True)
    bob = await hs.register_user("bob")
    room_id = await bob.create_room()
    details = f"/_synapse/admin/v1/rooms/{room_id}"
    assert (await root.get(details)).json()["forgotten"] is False
    resp = await root.post(f"/_synapse/admin/v1/deactivate/{bob.user_id}", json={"erase": False})
    assert resp.status_code == 200, resp.text
    assert (await root.get(details)).json()["forgotten"] is True


async def test_rejoining_a_forgotten_public_room_works(hs: Homeserver) -> None:
    """Forgotten rooms stay out of /sync "until the user re-joins, is re-invited, or knocks"
    (client-server-api#leaving-rooms): bob joins again and reads the room as a member."""
    alice, bob, room_id = await _room(hs)
    assert (await bob.post(f"/rooms/{room_id}/leave", json={})).status_code == 200
    await _assert_forgotten(bob, room_id)
    await bob.join(room_id)
    assert room_id in (await bob.sync())["rooms"]["join"]
    await alice.send_text(room_id, "welcome back")
    assert await _history(bob, room_id) == ["welcome back", "before the leave"]


async def test_with_the_setting_off_a_left_room_stays_readable(
    tmp_path: Path, database_config: Any
) -> None:
    """leaving.yaml: "If the server doesn't automatically forget the room, the user will still be
    allowed to retrieve history from the room which they were previously allowed to see", and
    clients "MAY retrieve [...] left but unforgotten rooms using a filter with include_leave"."""
    async with homeserver_with(tmp_path, database_config) as default:
        alice, bob, room_id = await _room(default)
        await _kick(alice, bob, room_id)
        assert await _in_leave_sync(bob, room_id)
        assert await _history(bob, room_id) == ["before the leave"]
        assert (await bob.post(f"/rooms/{room_id}/forget", json={})).status_code == 200
        await _assert_forgotten(bob, room_id)
