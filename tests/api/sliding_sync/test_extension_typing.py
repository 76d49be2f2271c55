"""The sliding-sync `typing` extension (MSC3961), through the extension itself."""

from __future__ import annotations

from typing import Any

from tests.api.sliding_sync.extension_harness import ExtensionSession, scope
from tests.conftest import Homeserver, UserClient


async def set_typing(user: UserClient, room_id: str, *, typing: bool) -> None:
    body = {"typing": typing, "timeout": 30000} if typing else {"typing": False}
    resp = await user.put(f"/rooms/{room_id}/typing/{user.user_id}", json=body)
    assert resp.status_code == 200, resp.text


def typing_event(user_ids: list[str]) -> dict[str, object]:
    return {"type": "m.typing", "content": {"user_ids": user_ids}}


async def test_typing_changes_in_rooms_of_the_response(hs: Homeserver) -> None:
    """MSC3961: "On an initial sync, typing notifications MUST only be sent for rooms returned
    in the sliding sync response. When live streaming, typing notifications MUST be sent as
    the server receives typing updates." The event is "the same event that would appear in
    the array `rooms.join["!foo:bar"].ephemeral.events` under a traditional "v2" `/sync`"."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    elsewhere = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    await bob.join(elsewhere)
    await set_typing(alice, room_id, typing=True)
    await set_typing(alice, elsewhere, typing=True)
    session = ExtensionSession(hs, bob, "typing")

    initial = await session.build({}, scope(room_id))
    assert initial is not None
    assert initial.news
    assert initial.payload == {"rooms": {room_id: typing_event([alice.user_id])}}
    assert await session.build({}, scope(room_id)) is None

    await set_typing(bob, room_id, typing=True)
    started = await session.build({}, scope(room_id))
    assert started is not None
    assert started.payload == {
        "rooms": {room_id: typing_event(sorted([alice.user_id, bob.user_id]))}
    }
    await set_typing(alice, room_id, typing=False)
    await set_typing(bob, room_id, typing=False)
    await set_typing(alice, elsewhere, typing=False)  # not in the response: not sent
    stopped = await session.build({}, scope(room_id))
    assert stopped is not None
    assert stopped.payload == {"rooms": {room_id: typing_event([])}}


async def test_rooms_entering_the_response_bring_who_is_typing(hs: Homeserver) -> None:
    """MSC3961: "Rooms which initially appear (`initial: true`) due to direct subscriptions
    or rooms moving into the sliding window MUST have typing notification data added _if_
    there are typing users, else it can be omitted from the typing response."
    """
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    first = await alice.create_room(preset="public_chat")
    typing_room = await alice.create_room(preset="public_chat")
    quiet_room = await alice.create_room(preset="public_chat")
    for room_id in (first, typing_room, quiet_room):
        await bob.join(room_id)
    await set_typing(alice, typing_room, typing=True)
    session = ExtensionSession(hs, bob, "typing")
    assert await session.build({}, scope(first)) is None

    grown = await session.build({}, scope(first, quiet_room, subscriptions=[typing_room]))
    assert grown is not None
    assert grown.payload == {"rooms": {typing_room: typing_event([alice.user_id])}}


async def test_no_typing_of_ignored_users_nor_in_rooms_not_joined(hs: Homeserver) -> None:
    """MSC3961's event is the one /sync carries: /sync leaves out typing of ignored users
    (client-server-api#ignoring-users) and has none for rooms the user is only invited to."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room_id = await alice.create_room(preset="public_chat")
    invited = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    await carol.join(room_id)
    resp = await alice.post(f"/rooms/{invited}/invite", json={"user_id": bob.user_id})
    assert resp.status_code == 200
    ignore: dict[str, Any] = {"ignored_users": {carol.user_id: {}}}
    path = f"/user/{bob.user_id}/account_data/m.ignored_user_list"
    assert (await bob.put(path, json=ignore)).status_code == 200
    await set_typing(alice, room_id, typing=True)
    await set_typing(carol, room_id, typing=True)
    await set_typing(alice, invited, typing=True)

    initial = await ExtensionSession(hs, bob, "typing").build({}, scope(room_id, invited))
    assert initial is not None
    assert initial.payload == {"rooms": {room_id: typing_event([alice.user_id])}}
