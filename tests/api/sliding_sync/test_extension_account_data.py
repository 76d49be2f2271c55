"""The sliding-sync `account_data` extension (MSC3959), through the extension itself."""

from __future__ import annotations

from typing import Any

from tests.api.sliding_sync.extension_harness import ExtensionSession, scope
from tests.conftest import Homeserver, UserClient


async def put_global(user: UserClient, data_type: str, content: dict[str, Any]) -> None:
    resp = await user.put(f"/user/{user.user_id}/account_data/{data_type}", json=content)
    assert resp.status_code == 200, resp.text


async def put_room(user: UserClient, room_id: str, data_type: str, content: dict[str, Any]) -> None:
    path = f"/user/{user.user_id}/rooms/{room_id}/account_data/{data_type}"
    assert (await user.put(path, json=content)).status_code == 200


def types(events: list[dict[str, Any]]) -> list[str]:
    return sorted(event["type"] for event in events)


async def test_initial_then_only_changes_and_only_rooms_in_the_response(hs: Homeserver) -> None:
    """MSC3959: "For sliding sync, an initial response must include all global account data.
    This data is subject to delta tokens and SHOULD be omitted when delta tokens are used and
    the client already has these events. Only rooms returned in the sliding sync response will
    be included in the `rooms` key. The server MUST NOT send room account data for rooms the
    client is not aware of."
    """
    alice = await hs.register_user("alice")
    shown = await alice.create_room()
    hidden = await alice.create_room()
    await put_global(alice, "org.example.settings", {"theme": "dark"})
    await put_room(alice, shown, "org.example.room", {"a": 1})
    await put_room(alice, hidden, "org.example.room", {"b": 2})
    resp = await alice.put(f"/user/{alice.user_id}/rooms/{shown}/tags/m.favourite", json={})
    assert resp.status_code == 200
    session = ExtensionSession(hs, alice, "account_data")

    initial = await session.build({}, scope(shown))
    assert initial is not None
    assert initial.news
    assert types(initial.payload["global"]) == ["m.push_rules", "org.example.settings"]
    assert list(initial.payload["rooms"]) == [shown]
    assert types(initial.payload["rooms"][shown]) == ["m.tag", "org.example.room"]

    assert await session.build({}, scope(shown)) is None  # nothing changed
    await put_global(alice, "org.example.settings", {"theme": "light"})
    await put_room(alice, shown, "org.example.room", {"a": 2})
    await put_room(alice, hidden, "org.example.room", {"b": 3})
    changed = await session.build({}, scope(shown))
    assert changed is not None
    assert changed.payload == {
        "global": [{"type": "org.example.settings", "content": {"theme": "light"}}],
        "rooms": {shown: [{"type": "org.example.room", "content": {"a": 2}}]},
    }


async def test_a_room_entering_the_response_brings_all_its_account_data(hs: Homeserver) -> None:
    """MSC3959: room account data is sent for "rooms returned in the sliding sync response";
    a room that moves into a list's range is new to the client, so what it has is sent in
    full (MSC3961 likewise adds data for rooms which "initially appear" by "rooms moving into
    the sliding window")."""
    alice = await hs.register_user("alice")
    first = await alice.create_room()
    second = await alice.create_room()
    await put_room(alice, second, "org.example.room", {"b": 1})
    session = ExtensionSession(hs, alice, "account_data")
    initial = await session.build({}, scope(first))
    assert initial is not None
    assert initial.payload["rooms"] == {}

    grown = await session.build({}, scope(first, second))  # the range grew onto `second`
    assert grown is not None
    assert grown.news
    assert grown.payload == {
        "global": [],
        "rooms": {second: [{"type": "org.example.room", "content": {"b": 1}}]},
    }
    assert await session.build({}, scope(first, second)) is None


async def test_lists_and_rooms_arguments_narrow_the_rooms(hs: Homeserver) -> None:
    """MSC3959: "If a `lists` or `rooms` argument is given to the extension, the [...]
    extension response SHOULD only include rooms belonging at least one of the sliding windows
    in `lists`, or rooms whose IDs are in `rooms`."
    """
    alice = await hs.register_user("alice")
    listed = await alice.create_room()
    subscribed = await alice.create_room()
    for room_id in (listed, subscribed):
        await put_room(alice, room_id, "org.example.room", {"in": room_id})
    in_scope = scope(listed, subscriptions=[subscribed])

    everything = await ExtensionSession(hs, alice, "account_data").build({}, in_scope)
    assert everything is not None
    assert sorted(everything.payload["rooms"]) == sorted([listed, subscribed])
    only_list = await ExtensionSession(hs, alice, "account_data").build(
        {"lists": ["all"], "rooms": []}, in_scope
    )
    assert only_list is not None
    assert list(only_list.payload["rooms"]) == [listed]
    only_room = await ExtensionSession(hs, alice, "account_data").build(
        {"lists": [], "rooms": [subscribed, "!unknown:test.bastion"]}, in_scope
    )
    assert only_room is not None
    assert list(only_room.payload["rooms"]) == [subscribed]
