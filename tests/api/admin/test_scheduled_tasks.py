"""Synapse's Scheduled Tasks API (docs/admin_api/scheduled_tasks.md), each test from its
sentences: `GET /_synapse/admin/v1/scheduled_tasks` "returns information about scheduled tasks"
(`id`, `action`, `status`, `timestamp_ms`, `resource_id`, `result`, `error`), filtered by
`action_name`, `resource_id`, `status` (one of scheduled, active, complete, cancelled, failed)
and `max_timestamp` ("a timestamp ... inferior to the specified one"). Bastion's room deletions,
history purges and user redactions are its tasks.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from bastion.services.admin import scheduled_tasks
from bastion.store.protocols.history_purges import HistoryPurgeRow
from bastion.store.sql.history_purges import SqlHistoryPurgeStore
from bastion.workers.history_purge import HistoryPurgeWorker
from bastion.workers.room_deletion import RoomDeletionWorker
from tests.api.admin.test_moderation_redact import with_moderator
from tests.conftest import Homeserver, UserClient, errcode

TASKS = "/_synapse/admin/v1/scheduled_tasks"
FIELDS = {"id", "action", "status", "timestamp_ms", "resource_id", "result", "error"}


async def _tasks(root: UserClient, **params: str) -> list[dict[str, Any]]:
    resp = await root.get(TASKS, params=params)
    assert resp.status_code == 200, resp.text
    tasks: list[dict[str, Any]] = resp.json()["scheduled_tasks"]
    assert all(set(task) == FIELDS for task in tasks), tasks
    return tasks


async def _purge(root: UserClient, room_id: str, up_to: str) -> str:
    resp = await root.post(
        f"/_synapse/admin/v1/purge_history/{quote(room_id, safe='')}",
        json={"purge_up_to_event_id": up_to, "delete_local_events": True},
    )
    assert resp.status_code == 200, resp.text
    purge_id: str = resp.json()["purge_id"]
    return purge_id


async def test_each_kind_of_job_listed_with_its_status_result_and_filters(
    hs: Homeserver,
) -> None:
    """A room deletion, a history purge and a user redaction, asked for ten seconds apart: listed
    oldest change first under Synapse's action names with their rooms or user, their statuses
    before and after they run, their results; each filter narrows the list."""
    await with_moderator(hs)
    root = await hs.register_user("root", admin=True)
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    doomed = await alice.create_room(preset="public_chat")
    await bob.join(doomed)
    kept = await alice.create_room(preset="public_chat")
    await bob.join(kept)
    old = [await alice.send_text(kept, f"old {n}") for n in range(3)]
    spam = await bob.send_text(kept, "spam")

    deleted = await root.delete(f"/_synapse/admin/v2/rooms/{doomed}", json={"purge": True})
    assert deleted.status_code == 200, deleted.text
    delete_id = deleted.json()["delete_id"]
    deleted_at = hs.clock.now_ms()
    hs.clock.advance(10)
    purge_id = await _purge(root, kept, old[-1])
    purged_at = hs.clock.now_ms()
    hs.clock.advance(10)
    redacted = await root.post(f"/_synapse/admin/v1/user/{quote(bob.user_id)}/redact",
                               json={"rooms": [kept]})  # fmt: skip
    assert redacted.status_code == 200, redacted.text
    redact_id = redacted.json()["redact_id"]

    queued = await _tasks(root)
    assert [(t["id"], t["action"], t["status"], t["resource_id"], t["error"]) for t in queued] == [
        (delete_id, "shutdown_and_purge_room", "scheduled", doomed, None),
        (purge_id, "purge_history", "active", kept, None),
        (redact_id, "redact_all_events", "scheduled", bob.user_id, None),
    ]
    assert [t["timestamp_ms"] for t in queued[:2]] == [deleted_at, purged_at]
    assert queued[2]["result"] is None  # nothing to report before it runs

    hs.clock.advance(10)
    await RoomDeletionWorker(hs.runtime.services.room_deletion, hs.clock).run_once()
    await HistoryPurgeWorker(hs.runtime.services.history_purges, hs.clock).run_once()
    await hs.runtime.services.redaction_jobs.run_to_completion()
    done = {t["id"]: t for t in await _tasks(root)}
    assert {t["status"] for t in done.values()} == {"complete"}
    assert sorted(done[delete_id]["result"]["kicked_users"]) == sorted([alice.user_id, bob.user_id])
    assert done[delete_id]["timestamp_ms"] > deleted_at  # its last change, not its creation
    assert done[purge_id]["result"]["deleted"] >= len(old) - 1
    assert done[redact_id]["result"] == {"failed_redactions": {}}
    seen = await bob.get(f"/rooms/{kept}/event/{spam}")
    assert seen.json()["content"] == {}  # the listed redaction did happen

    def ids(tasks: list[dict[str, Any]]) -> list[str]:
        return [t["id"] for t in tasks]

    assert ids(await _tasks(root, action_name="purge_history")) == [purge_id]
    assert ids(await _tasks(root, resource_id=bob.user_id)) == [redact_id]
    assert sorted(ids(await _tasks(root, resource_id=kept))) == [purge_id]
    assert len(await _tasks(root, status="complete")) == 3
    assert await _tasks(root, status="scheduled") == []
    assert len(await _tasks(root, job_status="complete")) == 3  # Synapse's older name
    assert await _tasks(root, max_timestamp=str(deleted_at)) == []  # all changed since
    assert await _tasks(root, action_name="delete_device") == []  # not a Bastion job


async def test_an_unfinished_job_is_listed_however_many_finished_since(
    hs: Homeserver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With room for one job per kind, a purge still running is listed beside the newest
    finished one (a stuck job is never hidden), and only when it matches the filters."""
    monkeypatch.setattr(scheduled_tasks, "LATEST_PER_KIND", 1)
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    first = await alice.create_room()
    second = await alice.create_room()
    up_to = [await alice.send_text(room_id, "hello") for room_id in (first, second)]
    finished = await _purge(root, second, up_to[1])
    await HistoryPurgeWorker(hs.runtime.services.history_purges, hs.clock).run_once()
    stuck = HistoryPurgeRow(  # older, and left unfinished (its worker's process died, say)
        purge_id="stuck", room_id=first, requested_by=root.user_id, before_position=1,
        delete_local=False, status="active", deleted=0, error=None,
        created_ts=hs.clock.now_ms() - 60_000, updated_ts=hs.clock.now_ms() - 60_000,
    )  # fmt: skip
    await SqlHistoryPurgeStore().insert_purge(hs.runtime.db, stuck)
    listed = {t["id"]: t["status"] for t in await _tasks(root, action_name="purge_history")}
    assert listed == {"stuck": "active", finished: "complete"}
    assert [t["id"] for t in await _tasks(root, resource_id=second)] == [finished]
    assert [t["id"] for t in await _tasks(root, status="active")] == ["stuck"]
    earlier = str(hs.clock.now_ms() - 30_000)
    assert [t["id"] for t in await _tasks(root, max_timestamp=earlier)] == ["stuck"]


async def test_refusals(hs: Homeserver) -> None:
    """A non-admin is 403; an unknown status and a malformed timestamp are 400."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    assert errcode(await alice.get(TASKS)) == (403, "M_FORBIDDEN")
    assert errcode(await root.get(TASKS, params={"status": "done"})) == (400, "M_INVALID_PARAM")
    bad_ts = await root.get(TASKS, params={"max_timestamp": "yesterday"})
    assert errcode(bad_ts) == (400, "M_INVALID_PARAM")
    assert await _tasks(root) == []
