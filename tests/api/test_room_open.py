"""A writer that waited for a room's row reads what the holder committed (PostgreSQL).

The server-server-api's checks on a PDU: "Passes authorisation rules based on the state before
the event, otherwise it is rejected", and prev_events: "Event IDs for the most recent events in
the room that the homeserver was aware of when it made this event". A writer to a room reads the
room's end and the state the auth rules need in the statement that takes the room's row lock
(`RoomStore.open_room`); that statement's snapshot is taken before the lock is waited for, so a
writer that waited must not build on the state of before the holder's commit.
"""

from __future__ import annotations

import asyncio

import pytest

from bastion.events.types import EventType
from bastion.store.sql.rooms import SqlRoomStore
from tests.conftest import Homeserver

_COPY = (
    "INSERT INTO events (stream_ordering, event_id, room_id, type, state_key, sender,"
    " origin_server_ts, depth, state_value, replaces_state, prev_content, prev_sender,"
    " sender_device, txn_id, pdu) SELECT stream_ordering + 1000000, ?, room_id, type,"
    " state_key, sender, origin_server_ts, depth + 1, state_value, replaces_state, prev_content,"
    " prev_sender, sender_device, txn_id, pdu FROM events WHERE event_id = ?"
)


async def test_a_writer_that_waited_for_the_room_reads_the_holders_state(hs: Homeserver) -> None:
    db = hs.runtime.db
    if db.dialect != "postgres":
        pytest.skip("row locks: PostgreSQL only (SQLite has one writer at a time)")
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(preset="public_chat")
    rooms = SqlRoomStore(row_locks=True)
    key = (EventType.MEMBER, alice.user_id)
    before = await rooms.open_room(db, room_id, [key], [])
    assert before is not None
    member_id = before.current[key].event_id

    waiter: asyncio.Task[object] | None = None
    async with db.transaction() as holder:
        await holder.fetch_one("SELECT room_id FROM rooms WHERE room_id = ? FOR UPDATE", room_id)
        # The holder writes a new end event that also becomes the current member event.
        await holder.execute(_COPY, "$newer", member_id)
        await holder.execute(
            "UPDATE current_state SET event_id = ? WHERE room_id = ? AND type = ?"
            " AND state_key = ?",
            "$newer", room_id, *key,
        )  # fmt: skip
        await holder.execute(
            "UPDATE rooms SET last_event_id = ? WHERE room_id = ?", "$newer", room_id
        )
        waiter = asyncio.create_task(rooms.open_room(db, room_id, [key], []))
        for _ in range(500):  # bounded: until the waiter's statement waits for the row lock
            if await db.fetch_val(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database() AND query LIKE 'WITH r AS%'"
            ):
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the waiter never waited for the room's row")
    opened = await waiter
    assert opened is not None
    assert opened.room.last_event_id == "$newer"
    assert opened.current[key].event_id == "$newer"
    newer = await db.fetch_val("SELECT stream_ordering FROM events WHERE event_id = '$newer'")
    assert opened.end_position == newer
