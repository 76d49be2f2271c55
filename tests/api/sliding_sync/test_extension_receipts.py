"""The sliding-sync `receipts` extension (MSC3960), through the extension itself."""

from __future__ import annotations

from typing import Any

from tests.api.sliding_sync.extension_harness import ExtensionSession, scope
from tests.conftest import Homeserver, UserClient


async def read(user: UserClient, room_id: str, event_id: str, kind: str = "m.read") -> None:
    resp = await user.post(f"/rooms/{room_id}/receipt/{kind}/{event_id}", json={})
    assert resp.status_code == 200, resp.text


def readers(
    payload: dict[str, Any], room_id: str, event_id: str, kind: str = "m.read"
) -> list[str]:
    event = payload["rooms"][room_id]
    assert event["type"] == "m.receipt"
    return sorted(event["content"].get(event_id, {}).get(kind, {}))


async def test_initial_receipts_then_only_new_ones(hs: Homeserver) -> None:
    """MSC3960: "The `m.receipt` event in this response is the same event that would appear in
    the array `rooms.join["!foo:bar"].ephemeral.events` under `/sync`." "Receipts MUST only be
    sent for rooms returned in the sliding sync response." "The receipts themeselves MAY be
    subject to delta tokens such that only read receipt deltas are returned to the client."
    (On a room's first appearance this server sends its current receipts, every user's latest.)
    """
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    other = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    await bob.join(other)
    first = await alice.send_text(room_id, "one")
    await read(alice, room_id, first)
    await read(alice, other, await alice.send_text(other, "elsewhere"))
    session = ExtensionSession(hs, bob, "receipts")

    initial = await session.build({}, scope(room_id))
    assert initial is not None
    assert initial.news
    assert list(initial.payload["rooms"]) == [room_id]
    assert readers(initial.payload, room_id, first) == [alice.user_id]
    assert await session.build({}, scope(room_id)) is None

    second = await bob.send_text(room_id, "two")
    await read(bob, room_id, second)
    delta = await session.build({}, scope(room_id))
    assert delta is not None
    assert list(delta.payload["rooms"][room_id]["content"]) == [second]
    assert readers(delta.payload, room_id, second) == [bob.user_id]


async def test_private_receipts_reach_only_their_owner(hs: Homeserver) -> None:
    """MSC3960: "This includes the `m.read.private` key in the receipt EDU for private read
    receipts" (of the requester: /sync shows a private receipt to its owner only)."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    alice_session = ExtensionSession(hs, alice, "receipts")
    bob_session = ExtensionSession(hs, bob, "receipts")
    assert await alice_session.build({}, scope(room_id)) is None
    assert await bob_session.build({}, scope(room_id)) is None

    event_id = await bob.send_text(room_id, "hello")
    await read(alice, room_id, event_id, "m.read.private")
    own = await alice_session.build({}, scope(room_id))
    assert own is not None
    assert readers(own.payload, room_id, event_id, "m.read.private") == [alice.user_id]
    assert await bob_session.build({}, scope(room_id)) is None


async def test_no_receipts_of_ignored_users_nor_of_rooms_not_joined(hs: Homeserver) -> None:
    """MSC3960's event is the one /sync carries: /sync leaves out receipts of ignored users
    (client-server-api#ignoring-users) and has none for rooms the user is only invited to."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room_id = await alice.create_room(preset="public_chat")
    invited = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    await carol.join(room_id)
    event_id = await alice.send_text(room_id, "hi")
    await read(alice, room_id, event_id)
    await read(carol, room_id, event_id)
    await read(alice, invited, await alice.send_text(invited, "secret"))
    assert (
        await alice.post(f"/rooms/{invited}/invite", json={"user_id": bob.user_id})
    ).status_code == 200
    ignore: dict[str, Any] = {"ignored_users": {carol.user_id: {}}}
    assert (
        await bob.put(f"/user/{bob.user_id}/account_data/m.ignored_user_list", json=ignore)
    ).status_code == 200

    initial = await ExtensionSession(hs, bob, "receipts").build({}, scope(room_id, invited))
    assert initial is not None
    assert list(initial.payload["rooms"]) == [room_id]
    assert readers(initial.payload, room_id, event_id) == [alice.user_id]


async def test_a_room_entering_the_response_brings_its_receipts(hs: Homeserver) -> None:
    """MSC3960: receipts are sent "for rooms returned in the sliding sync response"; a room
    that moves into a list's range comes with its receipts though they predate the `pos`."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    first = await alice.create_room(preset="public_chat")
    second = await alice.create_room(preset="public_chat")
    await bob.join(first)
    await bob.join(second)
    event_id = await alice.send_text(second, "earlier")
    await read(alice, second, event_id)
    session = ExtensionSession(hs, bob, "receipts")
    assert await session.build({}, scope(first)) is None

    grown = await session.build({}, scope(first, second))
    assert grown is not None
    assert readers(grown.payload, second, event_id) == [alice.user_id]
    assert await session.build({}, scope(first, second)) is None
