"""`GET /events/{eventId}`, from the spec's sentences (old_sync.yaml, getOneEvent):

"Get a single event based on `event_id`. You must have permission to retrieve this event e.g. by
being a member in the room for this event." Deprecated since r0 in favour of
`/rooms/{roomId}/event/{eventId}`; served so that an old script or bot that still calls it works.
The answer is a ClientEvent (so it names its room), and what the room-scoped form hides (history
visibility, a leave, a redaction) it hides too. The spec lists only 200 and 404: an event the
requester may not see answers exactly as one that does not exist.
"""

from __future__ import annotations

from tests.api.rooms_helpers import room_with_history
from tests.conftest import Homeserver, UserClient, errcode


async def private_room(hs: Homeserver) -> tuple[UserClient, UserClient, str]:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="private_chat")
    return alice, bob, room_id


async def test_a_member_gets_the_event_with_its_room(hs: Homeserver) -> None:
    alice, bob, room_id = await private_room(hs)
    await alice.post(f"/rooms/{room_id}/invite", json={"user_id": bob.user_id})
    await bob.join(room_id)
    event_id = await alice.send_text(room_id, "Dyżur o 8:00")

    resp = await bob.get(f"/events/{event_id}")

    assert resp.status_code == 200, resp.text
    event = resp.json()
    assert event["event_id"] == event_id
    assert event["room_id"] == room_id
    assert event["sender"] == alice.user_id
    assert event["type"] == "m.room.message"
    assert event["content"] == {"msgtype": "m.text", "body": "Dyżur o 8:00"}
    assert isinstance(event["origin_server_ts"], int)
    # the same event as the room-scoped form gives
    assert (await bob.get(f"/rooms/{room_id}/event/{event_id}")).json() == event


async def test_someone_outside_the_room_gets_what_an_unknown_event_gets(hs: Homeserver) -> None:
    alice, bob, room_id = await private_room(hs)
    event_id = await alice.send_text(room_id, "patient in bed 4")

    hidden = await bob.get(f"/events/{event_id}")
    unknown = await bob.get(f"/events/{event_id[:-3]}xyz")

    assert errcode(hidden) == (404, "M_NOT_FOUND")
    assert "patient" not in hidden.text
    assert errcode(unknown) == (404, "M_NOT_FOUND")
    assert hidden.json()["error"] == unknown.json()["error"]


async def test_a_world_readable_room_is_readable_without_joining(hs: Homeserver) -> None:
    _alice, bob, _room_id, early = await room_with_history(hs, "world_readable")

    resp = await bob.get(f"/events/{early}")

    assert resp.status_code == 200, resp.text
    assert resp.json()["content"]["body"] == "before bob"


async def test_who_left_reads_up_to_their_leave(hs: Homeserver) -> None:
    alice, bob, room_id = await private_room(hs)
    await alice.post(f"/rooms/{room_id}/invite", json={"user_id": bob.user_id})
    await bob.join(room_id)
    before = await alice.send_text(room_id, "while bob is here")
    assert (await bob.post(f"/rooms/{room_id}/leave", json={})).status_code == 200
    after = await alice.send_text(room_id, "after bob left")

    assert (await bob.get(f"/events/{before}")).status_code == 200
    assert errcode(await bob.get(f"/events/{after}")) == (404, "M_NOT_FOUND")


async def test_history_before_joining_stays_hidden_under_joined_visibility(
    hs: Homeserver,
) -> None:
    alice, bob, room_id, early = await room_with_history(hs, "joined")
    await bob.join(room_id)
    later = await alice.send_text(room_id, "after bob")

    assert errcode(await bob.get(f"/events/{early}")) == (404, "M_NOT_FOUND")
    assert (await bob.get(f"/events/{later}")).json()["content"]["body"] == "after bob"


async def test_a_redacted_event_comes_without_its_content(hs: Homeserver) -> None:
    alice, _bob, room_id = await private_room(hs)
    event_id = await alice.send_text(room_id, "wrong chat, sorry")
    resp = await alice.put(f"/rooms/{room_id}/redact/{event_id}/t1", json={"reason": "oops"})
    assert resp.status_code == 200, resp.text
    redaction_id = resp.json()["event_id"]

    event = (await alice.get(f"/events/{event_id}")).json()

    assert event["content"] == {}
    assert event["unsigned"]["redacted_because"]["event_id"] == redaction_id


async def test_without_a_token_it_is_refused(hs: Homeserver) -> None:
    alice, _bob, room_id = await private_room(hs)
    event_id = await alice.send_text(room_id, "hello")

    resp = await hs.http.get(f"/_matrix/client/v3/events/{event_id}")

    assert errcode(resp) == (401, "M_MISSING_TOKEN")
