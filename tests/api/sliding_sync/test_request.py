"""Sliding-sync requests: both dialects parsed, bad input refused with Matrix errors, unknown
things ignored (MSC4186 "Request Body")."""

from __future__ import annotations

import pytest

from tests.conftest import Homeserver, errcode

from .sliding_client import UNSTABLE, V4, SlidingClient, all_rooms


@pytest.mark.parametrize("path", [UNSTABLE, V4])
async def test_bad_bodies_are_refused_with_matrix_errors(hs: Homeserver, path: str) -> None:
    """Not JSON: M_NOT_JSON; JSON of the wrong shape: M_BAD_JSON; a reversed range:
    M_INVALID_PARAM."""
    alice = await hs.register_user("alice")
    headers = {"Authorization": f"Bearer {alice.token}", "Content-Type": "application/json"}
    resp = await hs.http.post(path, content=b"{not json", headers=headers)
    assert errcode(resp) == (400, "M_NOT_JSON")
    for body in (
        [],
        {"lists": []},
        {"lists": {"a": {"ranges": "0-19"}}},
        {"lists": {"a": {"timeline_limit": -1}}},
        {"lists": {"a": {"required_state": [["m.room.name"]]}}},
        {"room_subscriptions": {"!r:x": {"timeline_limit": "ten"}}},
        {"conn_id": 5},
        {"pos": 7},
    ):
        assert errcode(await alice.post(path, json=body)) == (400, "M_BAD_JSON"), body
    reversed_range = {"lists": {"a": {"ranges": [[5, 1]], "timeline_limit": 1}}}
    assert errcode(await alice.post(path, json=reversed_range)) == (400, "M_INVALID_PARAM")
    resp = await alice.post(path, json={}, params={"timeout": "soon"})
    assert errcode(resp) == (400, "M_INVALID_PARAM")
    resp = await alice.post(path, json={"set_presence": "busy"})
    assert errcode(resp) == (400, "M_INVALID_PARAM")


async def test_at_most_100_subscriptions_and_lists(hs: Homeserver) -> None:
    """ "Max subscriptions: 100. If a request contains more than this the server will respond
    with a 400 error response with code `M_INVALID_PARAM`." (likewise lists)"""
    alice = await hs.register_user("alice")
    config = {"timeline_limit": 1, "required_state": []}
    subscriptions = {f"!room{i}:test.bastion": config for i in range(101)}
    resp = await SlidingClient(alice).request({"room_subscriptions": subscriptions})
    assert errcode(resp) == (400, "M_INVALID_PARAM")
    lists = {f"l{i}": all_rooms() for i in range(101)}
    assert errcode(await SlidingClient(alice).request({"lists": lists})) == (400, "M_INVALID_PARAM")
    del subscriptions["!room0:test.bastion"]
    resp = await SlidingClient(alice).request({"room_subscriptions": subscriptions})
    assert resp.status_code == 200  # 100 unknown rooms: ignored, not an error


@pytest.mark.parametrize("merged", [False, True])
async def test_unknown_fields_types_and_extensions_are_ignored(
    hs: Homeserver, merged: bool
) -> None:
    """Unknown state types and extensions are accepted and ignored, never an error."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(name="Ward 7")
    if merged:
        wanted: object = {"include": [{"type": "org.example.unknown"}, {"type": "m.room.name"}]}
        lst: dict[str, object] = {"range": [0, 9], "timeline_limit": 1}
    else:
        wanted = [["org.example.unknown", "*"], ["m.room.name", ""]]
        lst = {"ranges": [[0, 9]], "timeline_limit": 1}
    body = {
        "lists": {"all": {**lst, "required_state": wanted, "org.example.flag": True}},
        "extensions": {"org.example.ext": {"enabled": True}, "typing": {"enabled": False}},
        "org.example.top": [1, 2],
    }
    response = await SlidingClient(alice, merged=merged).sync(body)
    room = response["rooms"][room_id]
    assert [e["type"] for e in room["required_state"]] == ["m.room.name"]
    assert response["extensions"] == {}


async def test_timeline_limit_is_capped(hs: Homeserver) -> None:
    """ "The server may cap this number.": a huge timeline_limit is not an error."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    response = await SlidingClient(alice).sync({"lists": {"all": all_rooms(limit=10**12)}})
    assert response["rooms"][room_id]["timeline"]
