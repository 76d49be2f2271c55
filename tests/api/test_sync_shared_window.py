"""Syncs woken by one event share its read (services/recent_events.py), never its checks.

The spec's long-poll (client-server-api, GET /sync `timeout`): "The maximum time to wait, in
milliseconds, before returning this request. If no events (or other data) become available
before this time elapses, the server will return a response with empty fields." Every member of
a busy room parks a sync and is woken by each message: the message is read from the database
once for all of them, while visibility (ignored users, membership, redactions) stays per viewer.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bastion.config_sections import PresenceConfig
from bastion.pubsub.messages import CacheInvalidated, DeliveryGap
from bastion.services.recent_events import ROOM_EVENTS_CACHE
from tests.api.rooms_helpers import bodies, timeline
from tests.api.test_ignored_users import ignore
from tests.conftest import Homeserver, UserClient


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    """Presence off: a member's sync going online would wake the others' parked syncs."""
    return {"presence": PresenceConfig(enabled=False)}


LEAN = '{"room":{"timeline":{"limit":5},"state":{"lazy_load_members":true}}}'


async def _room_of(hs: Homeserver, *names: str) -> tuple[UserClient, list[UserClient], str]:
    alice = await hs.register_user("alice")
    members = [await hs.register_user(name) for name in names]
    room_id = await alice.create_room(preset="public_chat")
    for member in members:
        await member.join(room_id)
    await alice.send_text(room_id, "warm-up")  # the room's push counters exist from here on
    return alice, members, room_id


async def _park(hs: Homeserver, members: list[UserClient]) -> list[asyncio.Task[dict[str, Any]]]:
    """Each member catches up, then parks a long-poll from the same position."""
    tokens = [(await m.sync(filter=LEAN))["next_batch"] for m in members]
    tasks = [
        asyncio.create_task(m.sync(since=t, filter=LEAN, timeout=30000))
        for m, t in zip(members, tokens, strict=True)
    ]
    await hs.wait_for_waiting_syncs(len(members))
    return tasks


async def test_syncs_woken_by_one_message_read_it_once(hs: Homeserver) -> None:
    """Three parked syncs woken by one message: each costs its probe (which also reads the
    room's unread counts), and the message's window is read once for the three."""
    db = hs.runtime.db
    alice, members, room_id = await _room_of(hs, "bob", "carol", "dave")
    before = db.query_count
    await alice.send_text(room_id, "nobody waits")
    alone = db.query_count - before  # the send itself, with no sync parked
    waiting = await _park(hs, members)

    before = db.query_count
    await alice.send_text(room_id, "wake up")
    woken = await asyncio.wait_for(asyncio.gather(*waiting), timeout=10)
    waking = db.query_count - before - alone

    assert [bodies(timeline(w, room_id)) for w in woken] == [["wake up"]] * 3
    assert all(w["rooms"]["join"][room_id]["unread_notifications"] for w in woken)
    assert waking <= 3 + 1, waking  # three probes; one read of the message's window


async def test_an_ignored_senders_message_read_for_another_stays_hidden(hs: Homeserver) -> None:
    """ "Once ignored, the client will no longer receive events sent by that user, with the
    exception of state events." Bob's woken sync reads alice's message; carol, who ignores
    alice, syncs over the same window (read from what bob's sync read) and does not get it."""
    db = hs.runtime.db
    alice, (bob, carol), room_id = await _room_of(hs, "bob", "carol")
    await ignore(carol, alice.user_id)
    token = (await carol.sync(filter=LEAN))["next_batch"]
    (waiting,) = await _park(hs, [bob])
    await alice.send_text(room_id, "hello")
    bob_sync = await asyncio.wait_for(waiting, timeout=10)

    before = db.query_count
    carol_sync = await carol.sync(since=token, filter=LEAN)
    cost = db.query_count - before

    assert bodies(timeline(bob_sync, room_id)) == ["hello"]
    assert carol_sync["next_batch"] == bob_sync["next_batch"]  # the same window
    assert cost <= 2, cost  # her token and her probe: the window was read for bob
    assert "hello" not in bodies(timeline(carol_sync, room_id))


async def test_a_member_who_left_gets_nothing_read_for_the_joined(hs: Homeserver) -> None:
    """A member who left sees the room's history up to their leave (history visibility), not
    what the members still joined get from the same window."""
    alice, (bob, dave), room_id = await _room_of(hs, "bob", "dave")
    token = (await bob.sync(filter=LEAN))["next_batch"]
    assert (await dave.sync(filter=LEAN))["next_batch"] == token
    assert (await dave.post(f"/rooms/{room_id}/leave", json={})).status_code == 200
    await alice.send_text(room_id, "after dave left")

    bob_sync = await bob.sync(since=token, filter=LEAN)
    dave_sync = await dave.sync(since=token, filter=LEAN)

    assert "after dave left" in bodies(timeline(bob_sync, room_id))
    assert room_id not in dave_sync["rooms"]["join"]
    assert "after dave left" not in bodies(timeline(dave_sync, room_id, "leave"))


async def test_a_redaction_after_the_window_was_read_shows_the_event_redacted(
    hs: Homeserver,
) -> None:
    """Redacting "involves removing all keys from an event that are not required by the
    protocol. This stripped down event is thereafter returned anytime a client or remote server
    requests it." Bob's sync read the message before it was redacted; a sync over the window
    from the same token afterwards gets the stripped event with its `redacted_because`."""
    alice, (bob, carol), room_id = await _room_of(hs, "bob", "carol")
    token = (await bob.sync(filter=LEAN))["next_batch"]
    event_id = await alice.send_text(room_id, "secret")
    assert bodies(timeline(await bob.sync(since=token, filter=LEAN), room_id)) == ["secret"]
    resp = await alice.put(f"/rooms/{room_id}/redact/{event_id}/r1", json={"reason": "oops"})
    assert resp.status_code == 200, resp.text

    for member in (carol, bob):
        events = timeline(await member.sync(since=token, filter=LEAN), room_id)
        (redacted,) = [e for e in events if e["event_id"] == event_id]
        assert redacted["content"] == {}
        assert redacted["unsigned"]["redacted_because"]["event_id"] == resp.json()["event_id"]


async def test_a_window_is_read_again_once_its_room_or_the_bus_link_changes(
    hs: Homeserver,
) -> None:
    """What one process keeps of a window is dropped when another process says the room's
    events changed (`CacheInvalidated`, as a redaction there publishes), and all of it when
    messages from other processes may have been missed (`DeliveryGap`)."""
    db = hs.runtime.db
    alice, (bob,), room_id = await _room_of(hs, "bob")
    token = (await bob.sync(filter=LEAN))["next_batch"]
    await alice.send_text(room_id, "hello")

    async def cost() -> int:
        before = db.query_count
        assert bodies(timeline(await bob.sync(since=token, filter=LEAN), room_id)) == ["hello"]
        return db.query_count - before

    first = await cost()
    assert await cost() == first - 1  # the window was kept
    hs.runtime.bus.publish(CacheInvalidated(ROOM_EVENTS_CACHE, room_id))
    assert await cost() == first
    assert await cost() == first - 1
    hs.runtime.bus.publish(DeliveryGap("test"))  # every cache of the process is emptied
    await bob.sync(since=token, filter=LEAN.replace('"limit":5', '"limit":4'))  # refills the others
    assert await cost() == first
