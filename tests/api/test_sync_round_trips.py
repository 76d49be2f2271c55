"""What a woken incremental /sync costs in database statements (round trips), on every database.

The spec's long-poll (client-server-api, GET /sync `timeout`): "The maximum time to wait, in
milliseconds, before returning this request. If no events (or other data) become available
before this time elapses, the server will return a response with empty fields." A client polls
again as soon as it has an answer, so in a busy room every member's sync parks and is woken once
per message: that cycle is the fan-out cost, and it must stay a handful of round trips whatever
streams /sync reports (issue 15: "a woken incremental /sync in one or two round trips").
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from tests.api.rooms_helpers import bodies, timeline
from tests.conftest import Homeserver, UserClient

LEAN = '{"room":{"timeline":{"limit":5},"state":{"lazy_load_members":true}}}'


async def _send_cost(hs: Homeserver, sender: UserClient, room_id: str, body: str) -> int:
    before = hs.runtime.db.query_count
    await sender.send_text(room_id, body)
    return hs.runtime.db.query_count - before


async def test_a_woken_incremental_sync_costs_a_handful_of_statements(hs: Homeserver) -> None:
    """Parking costs the access token only (the token is the current position: there is nothing
    to build, and the session was found by the token check, with no revocation heard since the
    poll read the revocation mark before it, services/long_poll.py); the wake-up costs the
    probe (which also reads the active rooms' unread counts) and the rooms' newest events.
    Typing, receipts, to-device, device lists, account data and membership cost nothing when
    they have nothing in the window."""
    db = hs.runtime.db
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    await alice.send_text(room_id, "warm-up")  # the room's push counters exist from here on
    token = (await bob.sync(filter=LEAN))["next_batch"]
    alone = await _send_cost(hs, alice, room_id, "nobody waits")  # a send with no sync parked
    token = (await bob.sync(since=token, filter=LEAN))["next_batch"]

    before_park = db.query_count
    waiting = asyncio.create_task(bob.sync(since=token, filter=LEAN, timeout=30000))
    await hs.wait_for_waiting_syncs(1)
    parking = db.query_count - before_park
    before_wake = db.query_count
    await alice.send_text(room_id, "wake up")
    woken = await asyncio.wait_for(waiting, timeout=10)
    waking = db.query_count - before_wake - alone

    assert bodies(timeline(woken, room_id)) == ["wake up"]
    assert woken["rooms"]["join"][room_id]["state"]["events"] == []
    assert parking <= 1, parking  # the access token (no second read of the session)
    assert waking <= 2, waking  # the probe with the unread counts; the rooms' newest events
    quiet = await bob.sync(since=woken["next_batch"], filter=LEAN)
    assert quiet["rooms"]["join"] == {}  # "a response with empty fields"
    assert quiet["next_batch"] == woken["next_batch"]


async def test_a_poll_woken_by_each_stream_reports_it(hs: Homeserver) -> None:
    """The probe skips only streams with nothing in the window: a parked poll woken by account
    data, a to-device message or a receipt reports it."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    event_id = await alice.send_text(room_id, "read me")
    token = (await bob.sync(filter=LEAN))["next_batch"]

    async def woken_by(change: Awaitable[Any]) -> dict[str, Any]:
        waiting = asyncio.create_task(bob.sync(since=token, filter=LEAN, timeout=30000))
        await hs.wait_for_waiting_syncs(1)
        assert (await change).status_code == 200
        return await asyncio.wait_for(waiting, timeout=10)

    put = bob.put(f"/user/{bob.user_id}/account_data/org.example.note", json={"n": 1})
    got = await woken_by(put)
    assert {"type": "org.example.note", "content": {"n": 1}} in got["account_data"]["events"]
    token = got["next_batch"]

    to_device = alice.put(
        "/sendToDevice/org.example.ping/txn1",
        json={"messages": {bob.user_id: {"*": {"hello": "bob"}}}},
    )
    got = await woken_by(to_device)
    assert [e["content"] for e in got["to_device"]["events"]] == [{"hello": "bob"}]
    token = got["next_batch"]

    receipt = alice.post(f"/rooms/{room_id}/receipt/m.read/{event_id}", json={})
    got = await woken_by(receipt)
    ephemeral = got["rooms"]["join"][room_id]["ephemeral"]["events"]
    assert any(e["type"] == "m.receipt" for e in ephemeral)
