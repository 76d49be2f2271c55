"""Every read path moved onto the visibility door still refuses what it must.

Someone never in a private room gets 403 (the room is closed to them) or 404 (the event is
unknown to them) from each read, and finds nothing of it in /sync, search, notifications or
receipts; someone who left reads nothing sent after their leave.
"""

from __future__ import annotations

import pytest

from tests.api.rooms_helpers import bodies, timeline
from tests.conftest import Homeserver, UserClient, errcode

V1 = "/_matrix/client/v1"


async def _private_room(hs: Homeserver) -> tuple[UserClient, str, str]:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(preset="private_chat", name="Ward 9")
    event_id = await alice.send_text(room_id, "secret")
    return alice, room_id, event_id


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/rooms/{room}/event/{event}", 403),
        ("/rooms/{room}/context/{event}", 403),
        ("/rooms/{room}/messages", 403),
        ("/rooms/{room}/state", 403),
        ("/rooms/{room}/state/m.room.name/", 403),
        ("/rooms/{room}/members", 403),
        ("/rooms/{room}/joined_members", 403),
        (V1 + "/rooms/{room}/timestamp_to_event?ts=0&dir=f", 403),
        (V1 + "/rooms/{room}/relations/{event}", 404),
        (V1 + "/rooms/{room}/threads", 403),
    ],
)
async def test_a_stranger_is_refused_by_every_read(
    hs: Homeserver, path: str, expected: int
) -> None:
    _, room_id, event_id = await _private_room(hs)
    mallory = await hs.register_user("mallory")
    resp = await mallory.get(path.format(room=room_id, event=event_id))
    assert errcode(resp) == (expected, "M_FORBIDDEN" if expected == 403 else "M_NOT_FOUND")


async def test_a_stranger_finds_nothing_in_sync_search_receipts_or_notifications(
    hs: Homeserver,
) -> None:
    alice, room_id, event_id = await _private_room(hs)
    mallory = await hs.register_user("mallory")
    sync = await mallory.sync()
    assert room_id not in sync["rooms"]["join"]
    search = {"search_categories": {"room_events": {"search_term": "secret"}}}
    resp = await mallory.post("/search", json=search)
    assert resp.json()["search_categories"]["room_events"]["results"] == []
    resp = await mallory.post(f"/rooms/{room_id}/receipt/m.read/{event_id}", json={})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert (await mallory.get("/notifications")).json()["notifications"] == []
    assert bodies(timeline(await alice.sync(), room_id)) == ["secret"]  # the room is readable


@pytest.mark.parametrize(
    "path",
    [
        "/rooms/{room}/event/{event}",
        "/rooms/{room}/context/{event}",
        V1 + "/rooms/{room}/relations/{event}",
    ],
)
async def test_after_leaving_an_event_sent_later_is_not_found(hs: Homeserver, path: str) -> None:
    alice, room_id, _ = await _private_room(hs)
    bob = await hs.register_user("bob")
    assert (await alice.post(f"/rooms/{room_id}/invite", json={"user_id": bob.user_id})).is_success
    await bob.join(room_id)
    before = await alice.send_text(room_id, "while bob is here")
    assert (await bob.post(f"/rooms/{room_id}/leave", json={})).is_success
    after = await alice.send_text(room_id, "after bob left")
    assert (await bob.get(path.format(room=room_id, event=before))).status_code == 200
    resp = await bob.get(path.format(room=room_id, event=after))
    assert errcode(resp) == (404, "M_NOT_FOUND")
    messages = (await bob.get(f"/rooms/{room_id}/messages?dir=b")).json()
    assert "after bob left" not in bodies(messages["chunk"])
