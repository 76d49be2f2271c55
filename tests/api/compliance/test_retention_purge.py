"""The retention purge: deletes expired messages, keeps what the room needs, frees the space.

MSC1763: "max_lifetime: the maximum duration in milliseconds for which a server must keep
events in this room"; "the server must not purge state events" (the room's current state and
its auth chain are the room) and keeps the latest event (the next event's `prev_events`).
Issue #13: "deletes expired message events in bounded batches (idempotent, resumable, a dry-run
mode that reports what it would delete) ... and really frees the space".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.compliance.retention_helpers import (
    DAY_MS,
    DAY_S,
    event_ids_in_db,
    place_hold,
    purge,
    send,
    set_retention,
    set_room_lifetime,
)
from tests.api.test_media import download, upload
from tests.conftest import Homeserver


def _read(path: Path) -> bytes:
    """The database file's bytes (a plain helper: the test measures the file at rest)."""
    return path.read_bytes()


async def _count(hs: Homeserver, sql: str, *args: object) -> int:
    return int(await hs.runtime.db.fetch_val(sql, *args))


async def test_a_held_room_survives_a_purge_that_empties_an_unheld_one(hs: Homeserver) -> None:
    """Issue #13: "a held room survives a purge that empties an unheld one"."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    held, unheld = await alice.create_room(), await alice.create_room()
    held_messages = [await alice.send_text(held, f"held {i}") for i in range(3)]
    unheld_messages = [await alice.send_text(unheld, f"unheld {i}") for i in range(3)]
    await place_hold(root, rooms=[held])
    await set_retention(root, default_max_lifetime_ms=DAY_MS)
    hs.clock.advance(2 * DAY_S)
    report = await purge(root)
    assert report["events"] == 2  # the unheld room's latest message stays (see below)
    assert set(held_messages) <= await event_ids_in_db(hs, held)
    left = await event_ids_in_db(hs, unheld)
    assert left & set(unheld_messages) == {unheld_messages[-1]}


async def test_state_and_the_latest_event_survive_with_the_rows_of_purged_ones(
    hs: Homeserver,
) -> None:
    """State events and the room's latest event stay; the purged events' search rows,
    relations and push actions go with them."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room = await alice.create_room(preset="private_chat", invite=[bob.user_id])
    await bob.join(room)
    first = await alice.send_text(room, "findable words")
    await alice.put(
        f"/rooms/{room}/send/m.reaction/r1",
        json={"m.relates_to": {"rel_type": "m.annotation", "event_id": first, "key": "👍"}},
    )
    last = await alice.send_text(room, "the latest")
    state_before = {
        row[0]
        for row in await hs.runtime.db.fetch_all(
            "SELECT event_id FROM events WHERE room_id = ? AND state_key IS NOT NULL", room
        )
    }
    await set_room_lifetime(alice, room, DAY_MS)  # a state event: it becomes the latest
    hs.clock.advance(2 * DAY_S)
    report = await hs.runtime.services.retention_purge.purge()
    assert report.events == 3  # both messages and the reaction; the state event is the latest
    left = await event_ids_in_db(hs, room)
    assert state_before <= left
    assert first not in left
    assert last not in left
    assert await _count(hs, "SELECT COUNT(*) FROM event_search WHERE room_id = ?", room) == 0
    assert await _count(hs, "SELECT COUNT(*) FROM event_relations WHERE room_id = ?", room) == 0
    assert await _count(hs, "SELECT COUNT(*) FROM event_push_generic WHERE room_id = ?", room) == 0
    # The room still works: a new message is sent on top of what remains.
    await alice.send_text(room, "after the purge")
    sync = await bob.sync()
    assert room in sync["rooms"]["join"]


async def test_the_latest_event_survives_even_when_it_is_an_expired_message(
    hs: Homeserver,
) -> None:
    alice = await hs.register_user("alice")
    room = await alice.create_room()
    await set_room_lifetime(alice, room, DAY_MS)
    last = await alice.send_text(room, "the latest")
    hs.clock.advance(2 * DAY_S)
    await hs.runtime.services.retention_purge.purge()
    assert last in await event_ids_in_db(hs, room)


async def test_a_dry_run_deletes_nothing_and_reports_counts(hs: Homeserver) -> None:
    """Issue #13: "a dry-run mode that reports what it would delete"."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    rooms = [await alice.create_room() for _ in range(2)]
    for room in rooms:
        for i in range(4):
            await alice.send_text(room, f"message {i}")
    await set_retention(root, default_max_lifetime_ms=DAY_MS)
    hs.clock.advance(2 * DAY_S)
    before = {room: await event_ids_in_db(hs, room) for room in rooms}
    report = await purge(root, dry_run=True)
    assert report == {
        "dry_run": True, "events": 6, "rooms": 2, "redacted_originals": 0, "complete": True,
        "media": 0,
    }  # fmt: skip
    assert {room: await event_ids_in_db(hs, room) for room in rooms} == before
    assert (await purge(root))["events"] == 6
    assert (await purge(root, dry_run=True))["events"] == 0


async def test_an_interrupted_purge_resumes_and_deletes_each_event_once(hs: Homeserver) -> None:
    """Bounded batches, one transaction each; a pass stopped after some batches continues from
    its last committed batch, and the total is what one uninterrupted pass would delete."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    rooms = [await alice.create_room() for _ in range(3)]
    for room in rooms:
        for i in range(5):
            await alice.send_text(room, f"message {i}")
    await set_retention(root, default_max_lifetime_ms=DAY_MS)
    hs.clock.advance(2 * DAY_S)
    purger = hs.runtime.services.retention_purge
    expected = (await purger.purge(dry_run=True)).events
    assert expected == 12
    deleted, passes = 0, 0
    while True:
        report = await purger.purge(max_batches=2, batch=2)  # stopped after two batches
        deleted += report.events
        passes += 1
        if report.complete:
            break
        assert passes < 20
    assert passes > 1
    assert deleted == expected
    assert (await purger.purge(dry_run=True)).events == 0


async def test_purge_audits_an_admin_run_and_refuses_others(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    resp = await alice.post("/_bastion/admin/v1/retention/purge", json={})
    assert (resp.status_code, resp.json()["errcode"]) == (403, "M_FORBIDDEN")
    await purge(root, dry_run=True)
    resp = await root.get("/_bastion/admin/v1/audit", params={"action": "retention.purge"})
    assert [e["outcome"] for e in resp.json()["entries"]] == ["success"]


async def test_the_database_file_shrinks_after_a_large_purge(hs: Homeserver) -> None:
    """Issue #13: "really frees the space (the content is gone from the database file)"."""
    db = hs.runtime.db
    if db.dialect != "sqlite":
        pytest.skip("PostgreSQL gives space back by autovacuum, not by shrinking files")
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room = await alice.create_room()
    padding = "confidential " * 1500  # ~20 kB a message
    for i in range(300):
        await alice.send_text(room, f"marker{i:04d}x {padding}")
    await db.reclaim_space()  # the WAL checkpointed into the file: measure the file alone
    path = Path(hs.runtime.config.database.url.removeprefix("sqlite:///"))
    before = len(_read(path))
    await set_retention(root, default_max_lifetime_ms=DAY_MS)
    hs.clock.advance(2 * DAY_S)
    report = await purge(root)
    content = _read(path)
    after = len(content)
    print(f"sqlite file: {before} bytes before, {after} after purging {report['events']} events")
    assert report["events"] == 299
    assert after < before / 4
    assert [i for i in range(299) if f"marker{i:04d}x".encode() in content] == []
    assert b"marker0299x" in content  # the latest event stays


async def test_media_only_the_purged_events_named_goes_with_them(hs: Homeserver) -> None:
    """Issue #13: the purge "removes search index rows and unreferenced media with them";
    media a remaining event still names stays."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    expiring, kept = await alice.create_room(), await alice.create_room()
    only_here = await upload(hs, alice, b"only in the expiring room")
    shared = await upload(hs, alice, b"also sent where it is kept")
    for media_id in (only_here, shared):
        await send(alice, expiring, "m.room.message", _image(hs, media_id))
    await alice.send_text(expiring, "the latest")
    await set_room_lifetime(alice, expiring, DAY_MS)
    hs.clock.advance(2 * DAY_S)
    await send(alice, kept, "m.room.message", _image(hs, shared))
    report = await purge(root)
    assert (report["events"], report["media"]) == (3, 1)
    assert (await download(hs, alice, only_here)).status_code == 404
    assert (await download(hs, alice, shared)).status_code == 200


async def test_a_redacted_messages_file_goes_when_its_kept_original_is_pruned(
    hs: Homeserver,
) -> None:
    """A redacted message's original (and so its file) is kept `redacted_content_days` (7 by
    default); when the original is pruned, the file goes too unless something still names it:
    another message, or an original a hold keeps."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room, held_room = await alice.create_room(), await alice.create_room()
    photo = await upload(hs, alice, b"the patient's scan")
    forwarded = await upload(hs, alice, b"sent twice")
    evidence = await upload(hs, alice, b"under a hold")
    removed = [
        await send(alice, room, "m.room.message", _image(hs, photo)),
        await send(alice, room, "m.room.message", _image(hs, forwarded)),
        await send(alice, held_room, "m.room.message", _image(hs, evidence)),
    ]
    await send(alice, room, "m.room.message", _image(hs, forwarded))
    await alice.send_text(room, "the latest")
    await place_hold(root, rooms=[held_room])
    for number, event_id in enumerate(removed):
        rooms = held_room if event_id == removed[2] else room
        resp = await alice.put(f"/rooms/{rooms}/redact/{event_id}/r{number}", json={})
        assert resp.status_code == 200, resp.text
    # Before the days are up, the kept original still names the file.
    assert (await purge(root))["media"] == 0
    hs.clock.advance(8 * DAY_S)
    report = await purge(root)
    assert (report["redacted_originals"], report["media"]) == (2, 1)
    assert (await download(hs, alice, photo)).status_code == 404
    assert (await download(hs, alice, forwarded)).status_code == 200
    assert (await download(hs, alice, evidence)).status_code == 200


def _image(hs: Homeserver, media_id: str) -> dict[str, object]:
    return {"msgtype": "m.image", "body": "a.png", "url": f"mxc://{hs.server_name}/{media_id}"}
