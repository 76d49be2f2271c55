"""No endpoint returns an expired event, even before the purge has run (one test per endpoint).

MSC1763 (`m.room.retention`): "max_lifetime: the maximum duration in milliseconds for which a
server must keep events ... after which it should delete them"; Synapse's reading, which we
follow: once an event reaches its expiry date (sent + max_lifetime), the server "stops serving
the event to clients via any endpoint"; retention policies do not apply to state events.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.api.compliance.retention_helpers import DAY_MS, DAY_S, send, set_room_lifetime
from tests.conftest import Homeserver, UserClient


@dataclass
class Expired:
    alice: UserClient
    bob: UserClient
    room_id: str
    old: str  # sent two days ago: expired under a one-day lifetime
    fresh: str


async def _room_with_an_expired_message(hs: Homeserver) -> Expired:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="private_chat", invite=[bob.user_id])
    await bob.join(room_id)
    old = await alice.send_text(room_id, "old secret")
    hs.clock.advance(2 * DAY_S)
    await set_room_lifetime(alice, room_id, DAY_MS)
    fresh = await alice.send_text(room_id, "fresh secret")
    return Expired(alice, bob, room_id, old, fresh)


def _thread_reply(root: str, body: str) -> dict[str, object]:
    return {
        "msgtype": "m.text",
        "body": body,
        "m.relates_to": {"rel_type": "m.thread", "event_id": root},
    }


def _ids(events: list[dict[str, object]]) -> set[object]:
    return {e["event_id"] for e in events}


async def test_sync_leaves_out_expired_events(hs: Homeserver) -> None:
    """/sync: the expired message is not in the timeline; the state events still are."""
    x = await _room_with_an_expired_message(hs)
    body = await x.bob.sync()
    room = body["rooms"]["join"][x.room_id]
    timeline = _ids(room["timeline"]["events"])
    assert x.fresh in timeline
    assert x.old not in timeline
    state = room["state"]["events"] + room["timeline"]["events"]
    assert any(e["type"] == "m.room.create" for e in state)


async def test_messages_leaves_out_expired_events(hs: Homeserver) -> None:
    """/messages: paginating back reaches the room's start without the expired message."""
    x = await _room_with_an_expired_message(hs)
    resp = await x.bob.get(f"/rooms/{x.room_id}/messages", params={"dir": "b", "limit": "50"})
    assert resp.status_code == 200, resp.text
    chunk = _ids(resp.json()["chunk"])
    assert x.fresh in chunk
    assert x.old not in chunk


async def test_event_of_an_expired_message_is_not_found(hs: Homeserver) -> None:
    """GET /rooms/{roomId}/event/{eventId}: 404 M_NOT_FOUND for the expired message."""
    x = await _room_with_an_expired_message(hs)
    resp = await x.bob.get(f"/rooms/{x.room_id}/event/{x.old}")
    assert (resp.status_code, resp.json()["errcode"]) == (404, "M_NOT_FOUND")
    resp = await x.bob.get(f"/rooms/{x.room_id}/event/{x.fresh}")
    assert resp.status_code == 200


async def test_context_neither_centres_on_nor_includes_expired_events(hs: Homeserver) -> None:
    """/context: 404 around the expired message; the context of a fresh one leaves it out."""
    x = await _room_with_an_expired_message(hs)
    resp = await x.bob.get(f"/rooms/{x.room_id}/context/{x.old}")
    assert (resp.status_code, resp.json()["errcode"]) == (404, "M_NOT_FOUND")
    resp = await x.bob.get(f"/rooms/{x.room_id}/context/{x.fresh}", params={"limit": "50"})
    assert resp.status_code == 200, resp.text
    assert x.old not in _ids(resp.json()["events_before"])


async def test_search_finds_no_expired_events(hs: Homeserver) -> None:
    """/search: the expired message no longer matches."""
    x = await _room_with_an_expired_message(hs)
    resp = await x.bob.post(
        "/search", json={"search_categories": {"room_events": {"search_term": "secret"}}}
    )
    assert resp.status_code == 200, resp.text
    results = resp.json()["search_categories"]["room_events"]["results"]
    found = {r["result"]["event_id"] for r in results}
    assert found == {x.fresh}


async def test_relations_of_an_expired_event_are_not_found(hs: Homeserver) -> None:
    """/relations: 404 once the parent (and its children) expired; listed while within lifetime."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    root = await alice.send_text(room_id, "root")
    old_reply = await send(alice, room_id, "m.room.message", _thread_reply(root, "old reply"))
    hs.clock.advance(2 * DAY_S)
    await set_room_lifetime(alice, room_id, DAY_MS)
    resp = await alice.get(f"/_matrix/client/v1/rooms/{room_id}/relations/{root}")
    assert (resp.status_code, resp.json()["errcode"]) == (404, "M_NOT_FOUND")
    # A parent still within its lifetime: a longer lifetime keeps root and reply visible.
    await set_room_lifetime(alice, room_id, 3 * DAY_MS)
    resp = await alice.get(f"/_matrix/client/v1/rooms/{room_id}/relations/{root}")
    assert old_reply in _ids(resp.json()["chunk"])
    hs.clock.advance(DAY_S + 1)  # now three days and a second: both expired
    resp = await alice.get(f"/_matrix/client/v1/rooms/{room_id}/relations/{root}")
    assert resp.status_code == 404


async def test_threads_leaves_out_expired_roots(hs: Homeserver) -> None:
    """/threads: a thread whose root expired is not listed; a fresh one is."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    old_root = await alice.send_text(room_id, "old root")
    await send(alice, room_id, "m.room.message", _thread_reply(old_root, "old reply"))
    hs.clock.advance(2 * DAY_S)
    await set_room_lifetime(alice, room_id, DAY_MS)
    fresh_root = await alice.send_text(room_id, "fresh root")
    await send(alice, room_id, "m.room.message", _thread_reply(fresh_root, "fresh reply"))
    resp = await alice.get(f"/_matrix/client/v1/rooms/{room_id}/threads")
    assert resp.status_code == 200, resp.text
    assert _ids(resp.json()["chunk"]) == {fresh_root}


async def test_notifications_leave_out_expired_events(hs: Homeserver) -> None:
    """/notifications: a notification for an expired message is not listed."""
    x = await _room_with_an_expired_message(hs)
    resp = await x.bob.get("/notifications")
    assert resp.status_code == 200, resp.text
    listed = {n["event"]["event_id"] for n in resp.json()["notifications"]}
    assert x.fresh in listed
    assert x.old not in listed


async def test_the_policy_default_applies_and_room_values_are_clamped(hs: Homeserver) -> None:
    """The organisation default applies to a room without `m.room.retention`; a room's own
    `max_lifetime` below `allowed_min_lifetime_ms` is clamped up to it (MSC1763: the server
    may restrict the values it honours)."""
    root = await hs.register_user("root", admin=True)
    x = await _room_with_an_expired_message(hs)  # now: day 2; x.old sent on day 0
    other = await x.alice.create_room()
    plain = await x.alice.send_text(other, "a room without its own policy")
    policy = {"default_max_lifetime_ms": DAY_MS, "allowed_min_lifetime_ms": 3 * DAY_MS}
    resp = await root.put("/_bastion/admin/v1/policy", json={"retention": policy})
    assert resp.status_code == 200, resp.text
    # x.room_id's one day is clamped up to three: its day-0 message is visible again.
    assert (await x.bob.get(f"/rooms/{x.room_id}/event/{x.old}")).status_code == 200
    # The default (one day, clamped to three as well) applies to the other room.
    assert (await x.alice.get(f"/rooms/{other}/event/{plain}")).status_code == 200
    hs.clock.advance(DAY_S + 1)  # day 3 and a second
    assert (await x.bob.get(f"/rooms/{x.room_id}/event/{x.old}")).status_code == 404
    assert (await x.alice.get(f"/rooms/{other}/event/{plain}")).status_code == 200
    hs.clock.advance(2 * DAY_S)  # day 5 and a second: the other room's message is 3 days old
    assert (await x.alice.get(f"/rooms/{other}/event/{plain}")).status_code == 404
