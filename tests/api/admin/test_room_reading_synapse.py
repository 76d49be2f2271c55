"""Synapse's admin reads of a room (docs/admin_api/rooms.md, fetch_event.md), each from its
sentences: the Room Messages API lets "server admins ... get all messages sent to a room"
(mirroring the client `/messages`; `dir` "Defaults to `f`"; `end` "omitted" when no further
events are available); the Event Context API mimics the client `/context`; the Timestamp to
Event API answers "the `event_id` of the closest event to the given timestamp"; fetch_event
fetches "an event regardless of their membership in the room it originated in". Bastion's
additions: each read of messages is audited, and retention still hides expired events.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from tests.api.admin.test_moderation_redact import audit_rows
from tests.api.compliance.retention_helpers import DAY_MS, DAY_S, set_retention
from tests.conftest import Homeserver, UserClient, errcode

ROOMS = "/_synapse/admin/v1/rooms"


async def _private_room(hs: Homeserver) -> tuple[UserClient, UserClient, str, list[str]]:
    """alice's invite-only room with `joined` history visibility: four messages before bob
    joins, one after. Returns alice, bob, the room and every message, oldest first."""
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    room_id = await alice.create_room(preset="private_chat", invite=[bob.user_id])
    resp = await alice.put(
        f"/rooms/{room_id}/state/m.room.history_visibility/", json={"history_visibility": "joined"}
    )
    assert resp.status_code == 200, resp.text
    sent = [await alice.send_text(room_id, f"before {n}") for n in range(4)]
    await bob.join(room_id)
    sent.append(await alice.send_text(room_id, "after"))
    return alice, bob, room_id, sent


def _messages_of(chunk: list[dict[str, Any]]) -> list[str]:
    return [e["event_id"] for e in chunk if e["type"] == "m.room.message"]


async def test_an_admin_outside_the_room_reads_all_its_messages(hs: Homeserver) -> None:
    """Forwards from the room's start by default, in pages (`end` to continue, absent at the
    end); bob, who joined late, sees only what came after; every page is audited."""
    root = await hs.register_user("root", admin=True)
    _alice, bob, room_id, sent = await _private_room(hs)

    seen: list[str] = []
    token: str | None = None
    pages = 0
    while pages < 20:
        params = {"limit": "3", **({"from": token} if token else {})}
        resp = await root.get(f"{ROOMS}/{quote(room_id)}/messages", params=params)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        pages += 1
        seen += _messages_of(body["chunk"])
        if "end" not in body:
            break
        token = body["end"]
    assert seen == sent  # oldest first, every one
    assert body["chunk"] == []  # the last page: nothing more, no `end`

    member_view = await bob.get(f"/rooms/{room_id}/messages", params={"dir": "f", "limit": "50"})
    assert _messages_of(member_view.json()["chunk"]) == sent[4:]

    backwards = await root.get(
        f"{ROOMS}/{quote(room_id)}/messages", params={"dir": "b", "limit": "50"}
    )
    assert _messages_of(backwards.json()["chunk"]) == list(reversed(sent))
    audited = await audit_rows(hs, "room.read_messages")
    assert audited == [("success", room_id)] * (pages + 1)


async def test_filters_and_redactions_are_as_for_clients(hs: Homeserver) -> None:
    """The RoomEventFilter applies; a redacted message is shown redacted."""
    root = await hs.register_user("root", admin=True)
    alice, _bob, room_id, sent = await _private_room(hs)
    resp = await alice.put(f"/rooms/{room_id}/redact/{sent[0]}/r1", json={"reason": "oops"})
    assert resp.status_code == 200, resp.text

    only_messages = json.dumps({"types": ["m.room.message"]})
    resp = await root.get(
        f"{ROOMS}/{quote(room_id)}/messages", params={"filter": only_messages, "limit": "50"}
    )
    chunk = resp.json()["chunk"]
    assert {e["type"] for e in chunk} == {"m.room.message"}
    redacted = next(e for e in chunk if e["event_id"] == sent[0])
    assert redacted["content"] == {}
    assert redacted["unsigned"]["redacted_because"]["content"]["reason"] == "oops"


async def test_expired_events_stay_hidden_from_admins_too(hs: Homeserver) -> None:
    """Once retention expires the messages, the admin reads no more of them than anyone
    (the room's latest event is kept by the purge, but hidden by expiry like the rest)."""
    root = await hs.register_user("root", admin=True)
    _alice, _bob, room_id, sent = await _private_room(hs)
    await set_retention(root, default_max_lifetime_ms=DAY_MS)
    hs.clock.advance(2 * DAY_S)
    resp = await root.get(f"{ROOMS}/{quote(room_id)}/messages", params={"limit": "50"})
    assert _messages_of(resp.json()["chunk"]) == []
    fetched = await root.get(f"/_synapse/admin/v1/fetch_event/{quote(sent[0])}")
    assert errcode(fetched) == (404, "M_NOT_FOUND")


async def test_the_context_of_an_event(hs: Homeserver) -> None:
    """The event, the events before and after it and the state at it, for an admin in no
    part of the room; audited."""
    root = await hs.register_user("root", admin=True)
    _alice, _bob, room_id, sent = await _private_room(hs)
    resp = await root.get(
        f"{ROOMS}/{quote(room_id)}/context/{quote(sent[1])}", params={"limit": "2"}
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["event"]["event_id"] == sent[1]
    assert body["event"]["content"]["body"] == "before 1"
    assert [e["event_id"] for e in body["events_before"]] == [sent[0]]
    assert [e["event_id"] for e in body["events_after"]] == [sent[2]]
    assert {"m.room.create", "m.room.member"} <= {e["type"] for e in body["state"]}
    assert {"start", "end"} <= set(body)
    assert await audit_rows(hs, "room.read_messages") == [("success", room_id)]


async def test_the_event_nearest_a_time(hs: Homeserver) -> None:
    """Forwards by default, backwards with `dir=b`; none in that direction: 404."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(preset="private_chat")
    first = await alice.send_text(room_id, "first")
    hs.clock.advance(60)
    middle = hs.clock.now_ms()
    hs.clock.advance(60)
    second = await alice.send_text(room_id, "second")
    path = f"{ROOMS}/{quote(room_id)}/timestamp_to_event"

    forwards = await root.get(path, params={"ts": str(middle)})
    assert forwards.status_code == 200, forwards.text
    assert forwards.json()["event_id"] == second
    assert forwards.json()["origin_server_ts"] > middle
    backwards = await root.get(path, params={"ts": str(middle), "dir": "b"})
    assert backwards.json()["event_id"] == first
    later = await root.get(path, params={"ts": str(middle + 10 * 60_000)})
    assert errcode(later) == (404, "M_NOT_FOUND")
    assert errcode(await root.get(path)) == (400, "M_MISSING_PARAM")
    assert errcode(await root.get(path, params={"ts": "x"})) == (400, "M_INVALID_PARAM")


async def test_fetching_any_event(hs: Homeserver) -> None:
    """`{"event": ...}` for any event of any room; audited `event.read` with its room."""
    root = await hs.register_user("root", admin=True)
    _alice, _bob, room_id, sent = await _private_room(hs)
    resp = await root.get(f"/_synapse/admin/v1/fetch_event/{quote(sent[2])}")
    assert resp.status_code == 200, resp.text
    event = resp.json()["event"]
    assert (event["event_id"], event["room_id"]) == (sent[2], room_id)
    assert event["content"]["body"] == "before 2"
    assert await audit_rows(hs, "event.read") == [("success", sent[2])]
    unknown = await root.get("/_synapse/admin/v1/fetch_event/%24nothing")
    assert errcode(unknown) == (404, "M_NOT_FOUND")


async def test_refusals(hs: Homeserver) -> None:
    """Members who are not server admins get 403 on every read; unknown rooms and events 404;
    bad parameters 400; none is an audited read of messages."""
    root = await hs.register_user("root", admin=True)
    alice, _bob, room_id, sent = await _private_room(hs)
    room = f"{ROOMS}/{quote(room_id)}"
    fetch = f"/_synapse/admin/v1/fetch_event/{quote(sent[0])}"
    reads = [f"{room}/messages", f"{room}/context/{quote(sent[0])}", fetch]
    for path in [*reads, f"{room}/timestamp_to_event?ts=0"]:
        assert errcode(await alice.get(path)) == (403, "M_FORBIDDEN"), path
    nowhere = f"{ROOMS}/{quote('!nowhere:test.bastion')}"
    assert errcode(await root.get(f"{nowhere}/messages")) == (404, "M_NOT_FOUND")
    assert errcode(await root.get(f"{nowhere}/context/{quote(sent[0])}")) == (404, "M_NOT_FOUND")
    other_room = await alice.create_room()
    wrong_room = await root.get(f"{ROOMS}/{quote(other_room)}/context/{quote(sent[0])}")
    assert errcode(wrong_room) == (404, "M_NOT_FOUND")
    assert errcode(await root.get(f"{room}/messages", params={"dir": "x"})) == (
        400, "M_INVALID_PARAM",
    )  # fmt: skip
    assert errcode(await root.get(f"{room}/messages", params={"from": "nonsense"}))[0] == 400
    assert errcode(await root.get(f"{room}/messages", params={"filter": "{"}))[0] == 400
    assert errcode(await root.get(f"{room}/messages", params={"limit": "many"}))[0] == 400
    outcomes = {outcome for outcome, _ in await audit_rows(hs, "room.read_messages")}
    assert "success" not in outcomes


async def test_a_spaces_hierarchy_whatever_the_admins_memberships(hs: Homeserver) -> None:
    """The Admin Space Hierarchy Endpoint "does not check for room membership": alice's
    private space and its private room, which the client endpoint refuses the admin, are both
    listed; `limit` pages with `next_batch`; an unknown room is 404; non-admins 403."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    space = await alice.create_room(
        preset="private_chat", name="Board", creation_content={"type": "m.space"}
    )
    secret = await alice.create_room(preset="private_chat", name="Salaries")
    other = await alice.create_room(preset="private_chat", name="Audit")
    for child in (secret, other):
        resp = await alice.put(
            f"/rooms/{space}/state/m.space.child/{child}", json={"via": ["test.bastion"]}
        )
        assert resp.status_code == 200, resp.text

    client_view = await root.get(f"/_matrix/client/v1/rooms/{space}/hierarchy")
    assert errcode(client_view) == (403, "M_FORBIDDEN")
    path = f"{ROOMS}/{quote(space)}/hierarchy"
    whole = await root.get(path)
    assert whole.status_code == 200, whole.text
    rooms = whole.json()["rooms"]
    assert {r["room_id"] for r in rooms} == {space, secret, other}
    assert {r["name"] for r in rooms} == {"Board", "Salaries", "Audit"}
    assert {c["state_key"] for c in rooms[0]["children_state"]} == {secret, other}

    first = await root.get(path, params={"limit": "2"})
    assert len(first.json()["rooms"]) == 2
    rest = await root.get(path, params={"limit": "2", "from": first.json()["next_batch"]})
    assert "next_batch" not in rest.json()
    paged = [r["room_id"] for r in first.json()["rooms"] + rest.json()["rooms"]]
    assert paged == [r["room_id"] for r in rooms]
    only_root = await root.get(path, params={"max_depth": "0"})
    assert [r["room_id"] for r in only_root.json()["rooms"]] == [space]

    unknown = await root.get(f"{ROOMS}/{quote('!nowhere:test.bastion')}/hierarchy")
    assert errcode(unknown) == (404, "M_NOT_FOUND")
    assert errcode(await alice.get(path)) == (403, "M_FORBIDDEN")
    assert errcode(await root.get(path, params={"limit": "0"})) == (400, "M_INVALID_PARAM")
