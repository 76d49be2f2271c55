"""Group commit: sends into one room that queue behind each other share one transaction
(services/rooms/send_queue.py), and each still gets the answer a send alone would get.

The spec's PUT /rooms/{roomId}/send/{eventType}/{txnId}: "Returns: an event ID for the sent
event"; transaction IDs (client-server-api, "Transaction identifiers"): "the server should
return the same response as the original request"; a refused event: 403 "The user is not
allowed to send this event". The server-server-api's PDU: "prev_events: Event IDs for the most
recent events in the room that the homeserver was aware of when it made this event", "depth:
The maximum depth of the prev_events, plus one".

To make the sends queue, the test holds the room's row (PostgreSQL: `FOR UPDATE`; SQLite: the
write transaction) while they arrive: the first one waits for it holding the room's send lock,
the others queue behind; once released, the next holder takes all the queued ones at once.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from tests.conftest import Homeserver, UserClient


@asynccontextmanager
async def _room_held(hs: Homeserver, room_id: str) -> AsyncIterator[None]:
    """Hold the room's row (every writer of the room waits) until the block ends."""
    db = hs.runtime.db
    lock = " FOR UPDATE" if db.dialect == "postgres" else ""
    async with db.transaction() as t:
        await t.fetch_one(f"SELECT room_id FROM rooms WHERE room_id = ?{lock}", room_id)  # noqa: S608
        yield


# (client, txn ID, content[, event type: m.room.message when left out])
Send = tuple[UserClient, str, dict[str, Any]] | tuple[UserClient, str, dict[str, Any], str]


async def _queued_behind_held_room(
    hs: Homeserver, room_id: str, sends: list[Send]
) -> list[httpx.Response]:
    """Start every send while the room is held, wait until all but the first are queued (the
    first waits for the row holding the room's lock), then release the room."""
    pipeline = hs.runtime.services.messages.pipeline
    async with _room_held(hs, room_id):
        tasks = []
        for client, txn, content, *kind in sends:
            path = f"/rooms/{room_id}/send/{kind[0] if kind else 'm.room.message'}/{txn}"
            tasks.append(asyncio.create_task(client.put(path, json=content)))
        for _ in range(500):  # bounded: the requests run on the real event loop
            if pipeline.queued_sends(room_id) == len(sends) - 1:
                break
            await asyncio.sleep(0.01)
        assert pipeline.queued_sends(room_id) == len(sends) - 1
    return list(await asyncio.gather(*tasks))


async def _history(hs: Homeserver, room_id: str) -> list[Any]:
    return await hs.runtime.db.fetch_all(
        "SELECT stream_ordering, event_id, depth, pdu FROM events WHERE room_id = ?"
        " ORDER BY stream_ordering",
        room_id,
    )


def _text(body: str) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": body}


async def test_queued_sends_get_their_own_events_in_one_chain(hs: Homeserver) -> None:
    """Each queued send gets its own event ID; stream order is history order: every event's
    prev_events is the event before it and its depth is one more."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    sends: list[Send] = [(alice if n % 2 else bob, f"t{n}", _text(f"m{n}")) for n in range(6)]

    responses = await _queued_behind_held_room(hs, room_id, sends)

    assert [r.status_code for r in responses] == [200] * 6
    event_ids = [r.json()["event_id"] for r in responses]
    assert len(set(event_ids)) == 6
    rows = await _history(hs, room_id)
    assert {row[1] for row in rows[-6:]} == set(event_ids)  # (the order they reached the queue)
    for before, row in itertools.pairwise(rows):
        assert json.loads(row[3])["prev_events"] == [before[1]]
        assert row[2] == before[2] + 1
    messages = await alice.get(f"/rooms/{room_id}/messages", params={"dir": "b", "limit": 6})
    assert [e["event_id"] for e in messages.json()["chunk"]] == [row[1] for row in rows[:-7:-1]]


async def test_a_refused_send_does_not_fail_the_others_queued_with_it(hs: Homeserver) -> None:
    """Bob lacks the power level for m.room.message: his send gets 403 M_FORBIDDEN, the sends
    queued around it are stored, still one chain."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(
        preset="public_chat", power_level_content_override={"events": {"m.room.message": 50}}
    )
    await bob.join(room_id)
    sends: list[Send] = [(alice, "a1", _text("one")), (alice, "a2", _text("two")),
             (bob, "b1", _text("refused")), (alice, "a3", _text("three"))]  # fmt: skip

    responses = await _queued_behind_held_room(hs, room_id, sends)

    assert [r.status_code for r in responses] == [200, 200, 403, 200]
    assert responses[2].json()["errcode"] == "M_FORBIDDEN"
    rows = await _history(hs, room_id)
    stored = [json.loads(row[3])["content"].get("body") for row in rows[-3:]]
    assert sorted(stored) == ["one", "three", "two"]
    for before, row in itertools.pairwise(rows):
        assert json.loads(row[3])["prev_events"] == [before[1]]


async def test_a_repeated_txn_in_the_queue_returns_the_first_event(hs: Homeserver) -> None:
    """The same txn ID twice in one queue, and one already stored: each gets the event its
    first request stored, and nothing is stored twice."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(preset="public_chat")
    stored_before = await alice.send_text(room_id, "earlier", txn_id="old")
    sends: list[Send] = [(alice, "x", _text("first")), (alice, "new", _text("new")),
             (alice, "new", _text("new again")), (alice, "old", _text("earlier"))]  # fmt: skip

    responses = await _queued_behind_held_room(hs, room_id, sends)

    assert [r.status_code for r in responses] == [200] * 4
    ids = [r.json()["event_id"] for r in responses]
    assert ids[1] == ids[2]
    assert ids[3] == stored_before
    bodies = [json.loads(row[3])["content"].get("body") for row in await _history(hs, room_id)]
    # One of the two "new" requests reached the queue first: its content is the one stored.
    assert sorted(bodies[-3:])[:2] == ["earlier", "first"]
    assert bodies[-3:].count("new") + bodies[-3:].count("new again") == 1


async def test_a_group_costs_fewer_statements_per_event_than_single_sends(
    hs: Homeserver,
) -> None:
    """Sends one at a time cost 6 (PostgreSQL) to 10 (SQLite) statements each; queued ones
    share the room's read (with its txn and state reads), the inserts of events and txn IDs and
    the room's advance."""
    db = hs.runtime.db
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    await alice.send_text(room_id, "warm-up")
    count = 8
    before = db.query_count
    for n in range(count):
        await alice.send_text(room_id, f"alone {n}", txn_id=f"alone{n}")
    alone = db.query_count - before

    before = db.query_count
    sends: list[Send] = [(alice, f"q{n}", _text(f"queued {n}")) for n in range(count)]
    responses = await _queued_behind_held_room(hs, room_id, sends)
    queued = db.query_count - before - 1  # the test's own read of the held row

    assert [r.status_code for r in responses] == [200] * count
    # The first send waited for the row alone; the other 7 were one group: the room's read, the
    # txn and state reads, the events' insert, the search rows, the txn IDs and the room's
    # advance are the group's. On SQLite each event still writes its push rows one by one; on
    # PostgreSQL the group's push rows are one statement, and its txn IDs go with the advance.
    assert queued * 5 <= alone * 3, (alone, queued)
    if db.dialect == "postgres":
        assert queued * 5 <= alone * 2, (alone, queued)
    # Pinned (PostgreSQL: row lock, txn IDs and auth state in one statement, RoomStore.open_room;
    # events, txn IDs and the room's advance in another, RoomStore.append_messages).
    assert (alone, queued) == ((48, 19) if db.dialect == "postgres" else (80, 45))


async def test_unread_counts_after_a_group_count_each_event_once(hs: Homeserver) -> None:
    """Push notification counts (client-server-api, "Receiving notifications"): "The
    notification_count is the number of unread notifications", and notifications are marked
    read "by using the API or by sending an event". After a group of sends by both members,
    each one's counts are the other's events after their own last one (a mention of bob
    highlights), as if they had been sent one by one."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    mention = {**_text("bob!"), "m.mentions": {"user_ids": [bob.user_id]}}
    sends: list[Send] = [(alice, "a1", _text("one")), (alice, "a2", mention),
             (bob, "b1", _text("mine")),
             (alice, "a3", _text("three")), (bob, "b2", _text("again")),
             (alice, "a4", mention)]  # fmt: skip

    responses = await _queued_behind_held_room(hs, room_id, sends)

    assert [r.status_code for r in responses] == [200] * 6
    order = [json.loads(row[3]) for row in await _history(hs, room_id)]
    order = [pdu for pdu in order if pdu["type"] == "m.room.message"]

    def expected(reader: UserClient) -> tuple[int, int]:
        last_own = max(n for n, pdu in enumerate(order) if pdu["sender"] == reader.user_id)
        after = [pdu for pdu in order[last_own + 1 :] if pdu["sender"] != reader.user_id]
        mentions = [pdu for pdu in after if "m.mentions" in pdu["content"]]
        return len(after), len(mentions)

    for reader in (alice, bob):
        counts = (await reader.sync())["rooms"]["join"][room_id]["unread_notifications"]
        assert (counts["notification_count"], counts["highlight_count"]) == expected(reader)


async def test_a_hook_refusing_in_the_group_falls_back_to_one_by_one(hs: Homeserver) -> None:
    """Relations (client-server-api, m.annotation): "the server should prevent a user from
    sending a second annotation for a given event with identical event type and key"; the
    refusal comes from a hook inside the shared transaction, which then rolls back: the sends
    are written one by one and only the second identical reaction is refused."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(preset="public_chat")
    target = await alice.send_text(room_id, "react to me")
    reaction = {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": "👍"}}
    sends: list[Send] = [(alice, "m1", _text("before")), (alice, "r1", reaction, "m.reaction"),
             (alice, "m2", _text("between")), (alice, "r2", reaction, "m.reaction"),
             (alice, "m3", _text("after"))]  # fmt: skip

    responses = await _queued_behind_held_room(hs, room_id, sends)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 200, 200, 400]
    refused = next(r for r in responses if r.status_code == 400)
    assert refused.json()["errcode"] == "M_DUPLICATE_ANNOTATION"
    rows = await _history(hs, room_id)
    kinds = sorted(json.loads(row[3])["type"] for row in rows[-4:])
    assert kinds == ["m.reaction", "m.room.message", "m.room.message", "m.room.message"]
    for before, row in itertools.pairwise(rows):
        assert json.loads(row[3])["prev_events"] == [before[1]]


async def test_a_send_reads_its_room_in_one_statement(hs: Homeserver) -> None:
    """PUT /rooms/{roomId}/send/{eventType}/{txnId}: "Returns: an event ID for the sent event";
    a repeated txn ID: "the server should return the same response as the original request".

    The room's row lock, the stored txn ID and the state the auth rules need are one statement
    (`RoomStore.open_room`); on PostgreSQL the event, its txn ID and the room's advance are
    another (`RoomStore.append_messages`). A send alone costs the request's token lookup, the
    transaction's begin, those two and the hooks' rows (push, search); a repeated txn ID costs
    the token lookup, the begin and the room's read."""
    db = hs.runtime.db
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(preset="public_chat")
    await alice.send_text(room_id, "warm-up")

    before = db.query_count
    first = await alice.put(f"/rooms/{room_id}/send/m.room.message/once", json=_text("once"))
    alone = db.query_count - before
    before = db.query_count
    again = await alice.put(f"/rooms/{room_id}/send/m.room.message/once", json=_text("once"))
    repeated = db.query_count - before

    assert first.status_code == again.status_code == 200
    assert first.json()["event_id"] == again.json()["event_id"]
    assert (alone, repeated) == ((6, 3) if db.dialect == "postgres" else (10, 3))
