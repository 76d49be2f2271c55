"""The start-up backfills as resumable jobs (workers/backfills.py), and the workers a runtime
offers the serving app.

A job stopped mid-way is simulated by running one step of a job and dropping it: the next
start (a new job, or `Runtime.open`) knows only what the database holds. Each test checks that
the next run finishes the work and does not redo the batch already committed.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bastion.app import Runtime
from bastion.config import PresenceConfig
from bastion.services.directory.user_index import UserDirectoryIndex
from bastion.services.media.references import backfill_references_batch
from bastion.store.sql.events import SqlEventStore
from bastion.store.sql.media_references import SqlMediaReferenceStore
from bastion.store.sql.rooms import SqlRoomStore
from bastion.store.sql.search import search_store_for
from bastion.store.sql.user_directory import SqlUserDirectoryStore
from bastion.workers.backfills import (
    STARTUP_BACKFILLS,
    MediaReferenceBackfill,
    RedactionBacklogPrune,
    SearchIndexBackfill,
    UserDirectoryBackfill,
)
from bastion.workers.base import run_to_completion
from tests.conftest import Homeserver, UserClient
from tests.exclusive_locks import waiting_for

# Every worker `bastion serve` runs besides presence expiry, in start order.
JOB_WORKERS = [
    "push delivery",
    "offboarding resumer",
    "room deletion",
    "redaction jobs",
    "retention purge",
    "history purge",
    "compliance exports",
]


async def searched(user: UserClient, term: str) -> list[str]:
    body = {"search_categories": {"room_events": {"search_term": term}}}
    resp = await user.post("/search", json=body)
    assert resp.status_code == 200, resp.text
    results: list[dict[str, Any]] = resp.json()["search_categories"]["room_events"]["results"]
    return sorted(r["result"]["content"]["body"] for r in results)


async def test_search_backfill_stopped_mid_way_resumes_at_the_next_start(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(preset="public_chat")
    for body in ("archived one", "archived two", "archived three"):
        await alice.send_text(room_id, body)
    db = hs.runtime.db
    await db.execute("DELETE FROM event_search")  # as if they predated the index
    await db.execute("UPDATE event_search_backfill SET upto = ?", 1_000_000)

    job = SearchIndexBackfill(db, search_store_for(db.dialect), batch=1)
    assert await job.step() is False  # one batch (the newest event), then the process stops
    assert await searched(alice, "archived") == ["archived three"]
    # Undo the committed batch's rows behind the job's back: a redo would bring them back.
    await db.execute("DELETE FROM event_search")

    restarted = await Runtime.open(hs.runtime.config, hs.clock)  # the next start
    await restarted.close()
    assert await searched(alice, "archived") == ["archived one", "archived two"]
    assert await db.fetch_val("SELECT upto FROM event_search_backfill") == 0
    assert await run_to_completion(SearchIndexBackfill(db, search_store_for(db.dialect))) == 0


async def test_processes_starting_together_run_the_backfills_one_at_a_time(
    hs: Homeserver,
) -> None:
    """docs/scaling.md: processes starting together after an upgrade run the start-up
    backfills one at a time; the others wait for the first, then find nothing left to do."""
    if hs.runtime.db.dialect != "postgres":
        pytest.skip("one process serves a SQLite file: there is nobody to wait for")
    db = hs.runtime.db
    schema = hs.runtime.config.database.schema
    async with db.exclusive(STARTUP_BACKFILLS):  # another process is running the backfills
        starting = asyncio.create_task(Runtime.open(hs.runtime.config, hs.clock))
        assert await waiting_for(db, schema, STARTUP_BACKFILLS) == 1
        assert not starting.done()
    started = await starting  # the lock released: the start goes on
    await started.close()


async def test_user_directory_backfill_resumes_without_redoing(hs: Homeserver) -> None:
    for name in ("alice", "bob", "carol"):
        await hs.register_user(name)
    db = hs.runtime.db
    await db.execute("DELETE FROM user_directory_terms")  # accounts older than the directory
    index = UserDirectoryIndex(SqlUserDirectoryStore())

    assert await UserDirectoryBackfill(db, index, batch=1).step() is False  # stopped after one
    assert await run_to_completion(UserDirectoryBackfill(db, index, batch=1)) == 2  # the rest
    assert await run_to_completion(UserDirectoryBackfill(db, index)) == 0
    indexed = await db.fetch_val("SELECT COUNT(DISTINCT user_id) FROM user_directory_terms")
    assert indexed == 3


async def test_redaction_backlog_resumes_without_redoing(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    targets = []
    for key in ("a", "b"):
        resp = await alice.put(f"/rooms/{room_id}/state/org.example.vault/{key}", json={"x": 1})
        targets.append(resp.json()["event_id"])
    redaction_id = await alice.send_text(room_id, "stands in for an old redaction")
    db = hs.runtime.db
    for target in targets:  # what an old server left: marked redacted, not pruned
        await db.execute(
            "UPDATE events SET redacted_by = ? WHERE event_id = ?", redaction_id, target
        )
    events, rooms = SqlEventStore(), SqlRoomStore()

    first = RedactionBacklogPrune(db, events, rooms, hs.clock, batch=1)
    assert await first.step() is False  # stopped after one
    assert await run_to_completion(RedactionBacklogPrune(db, events, rooms, hs.clock)) == 1
    assert await run_to_completion(RedactionBacklogPrune(db, events, rooms, hs.clock)) == 0
    kept = await db.fetch_all("SELECT event_id FROM redacted_event_originals")
    assert sorted(row["event_id"] for row in kept) == sorted(targets)  # each once


async def test_runtime_offers_workers_without_starting_them(hs: Homeserver) -> None:
    """`Runtime.open` (tests, benchmarks, `bastion serve`) starts nothing; the registry the
    serving app starts runs presence expiry and push delivery, and stops them."""
    registry = hs.runtime.workers()
    assert registry.names == ["presence expiry", *JOB_WORKERS]
    assert not any(s.is_running for s in registry.supervisors)
    registry.start()
    assert all(s.is_running for s in registry.supervisors)
    await registry.stop()
    assert not any(s.is_running for s in registry.supervisors)


@pytest.mark.parametrize("config_overrides", [{"presence": PresenceConfig(enabled=False)}])
async def test_presence_disabled_has_no_expiry_worker(hs: Homeserver) -> None:
    assert hs.runtime.workers().names == JOB_WORKERS


async def _references(hs: Homeserver) -> set[tuple[str, str]]:
    rows = await hs.runtime.db.fetch_all("SELECT media_id, event_id FROM media_references")
    return {(r[0], r[1]) for r in rows}


async def test_media_reference_backfill_indexes_older_events_and_kept_originals(
    hs: Homeserver,
) -> None:
    """Files named by events older than the index (a message, an avatar, a redacted message's
    kept original, an original whose event is gone) are indexed at the next start, window by
    window, newest first, resuming where a stopped start left off."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(preset="private_chat")
    uri = f"mxc://{hs.server_name}"
    sent = [await alice.put(f"/rooms/{room_id}/send/m.room.message/t{n}", json={
        "msgtype": "m.image", "body": f"scan {n}", "url": f"{uri}/scan{n}",
        "info": {"thumbnail_url": f"{uri}/thumb{n}"},
    }) for n in range(3)]  # fmt: skip
    event_ids = [resp.json()["event_id"] for resp in sent]
    resp = await alice.put(f"/rooms/{room_id}/redact/{event_ids[0]}/r1", json={})
    assert resp.status_code == 200, resp.text  # its original is kept aside, naming scan0
    resp = await alice.put(f"/profile/{alice.user_id}/avatar_url", json={"avatar_url": f"{uri}/me"})
    assert resp.status_code == 200, resp.text  # a member event naming the avatar
    await alice.send_text(room_id, "no file here", txn_id="plain")
    indexed = await _references(hs)
    assert {(f"scan{n}", event_ids[n]) for n in range(3)} <= indexed
    assert {(f"thumb{n}", event_ids[n]) for n in range(3)} <= indexed
    assert any(media_id == "me" for media_id, _event in indexed)

    db = hs.runtime.db
    orphan = json.dumps({"content": {"url": f"{uri}/orphan"}})
    await db.execute(
        "INSERT INTO redacted_event_originals (event_id, room_id, redacted_by, redacted_ts, pdu)"
        " VALUES ('$gone', ?, '$r', 0, ?)", room_id, orphan,
    )  # fmt: skip
    await db.execute("DELETE FROM media_references")  # as if every event predated the index
    top = await db.fetch_val("SELECT MAX(stream_ordering) FROM events")
    await db.execute("UPDATE media_references_backfill SET upto = ?", top)

    store = SqlMediaReferenceStore()
    finished, _ = await backfill_references_batch(db, store, hs.server_name, window=2)
    assert not finished  # one window (the newest two positions), then the process stops
    assert {media_id for media_id, _event in await _references(hs)} == {"me"}
    restarted = await Runtime.open(hs.runtime.config, hs.clock)  # the next start finishes
    await restarted.close()
    assert await _references(hs) == indexed | {("orphan", "$gone")}
    assert await db.fetch_val("SELECT upto FROM media_references_backfill") == 0
    assert await run_to_completion(MediaReferenceBackfill(db, store, hs.server_name)) == 0
