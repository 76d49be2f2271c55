"""Removing all of a user's messages, in one room or everywhere: a durable background job
(issue #12, section 1: "an admin removes ... all of a user's messages in one room or
everywhere"; brief: "a durable background job with a status endpoint ...; bounded batches;
resumable after restart").

docs/subsystems/workers.md: "A job stopped between steps (a crash, a kill) resumes from the
last committed batch on the next start and never redoes one."
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bastion.config import DatabaseConfig
from bastion.workers.moderation_jobs import RedactionJobsWorker
from tests.api.admin.test_moderation_redact import audit_rows, seen_by, with_moderator
from tests.conftest import Homeserver, UserClient, errcode, homeserver_with


async def _bob_in_two_rooms(hs: Homeserver) -> tuple[UserClient, list[str], dict[str, list[str]]]:
    """Rooms made under the policy (the moderation account has power); bob posts 3 + 2
    messages and changes his display name (a state event, not a message)."""
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    rooms = [await alice.create_room(preset="public_chat", room_version=v) for v in ("12", "10")]
    sent: dict[str, list[str]] = {}
    for room_id, count in zip(rooms, (3, 2), strict=True):
        await bob.join(room_id)
        sent[room_id] = [await bob.send_text(room_id, f"spam {n}") for n in range(count)]
    resp = await bob.put(f"/profile/{bob.user_id}/displayname", json={"displayname": "Bob"})
    assert resp.status_code == 200, resp.text
    return bob, rooms, sent


async def _job(admin: UserClient, job_id: str) -> dict[str, Any]:
    resp = await admin.get(f"/_bastion/admin/v1/redactions/{job_id}")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def _redactions_by(hs: Homeserver, sender: str) -> int:
    count = await hs.runtime.db.fetch_val(
        "SELECT COUNT(*) FROM events WHERE type = 'm.room.redaction' AND sender = ?", sender
    )
    return int(count)


async def test_all_of_a_users_messages_everywhere(hs: Homeserver) -> None:
    """A 202 with the job; the worker's batches redact every message (not state events), the
    status endpoint shows the progress; audited when asked for and when complete."""
    moderator = await with_moderator(hs)
    root = await hs.register_user("root", admin=True)
    bob, _rooms, sent = await _bob_in_two_rooms(hs)

    resp = await root.post(
        f"/_bastion/admin/v1/users/{bob.user_id}/redact", json={"reason": "spammer"}
    )
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["job_id"]
    assert (resp.json()["status"], resp.json()["redacted"]) == ("pending", 0)

    runner = hs.runtime.services.redaction_jobs
    assert await runner.run_pending(batch=2)  # bounded: two messages, more left
    assert ((await _job(root, job_id))["status"], (await _job(root, job_id))["redacted"]) == (
        "pending", 2,
    )  # fmt: skip
    await runner.run_to_completion()

    done = await _job(root, job_id)
    assert (done["status"], done["redacted"], done["refused"]) == ("complete", 5, 0)
    for room_id, events in sent.items():
        for event_id in events:
            seen = await seen_by(bob, room_id, event_id)
            assert seen["content"] == {}
            assert seen["unsigned"]["redacted_because"]["sender"] == moderator
            assert seen["unsigned"]["redacted_because"]["content"]["reason"] == "spammer"
    assert await _redactions_by(hs, moderator) == 5
    assert await audit_rows(hs, "user.redact_all") == [
        ("success", bob.user_id), ("success", bob.user_id),
    ]  # fmt: skip


async def test_one_room_only(hs: Homeserver) -> None:
    """`room_id` limits the job to that room."""
    await with_moderator(hs)
    root = await hs.register_user("root", admin=True)
    bob, rooms, sent = await _bob_in_two_rooms(hs)
    resp = await root.post(
        f"/_bastion/admin/v1/users/{bob.user_id}/redact", json={"room_id": rooms[1]}
    )
    assert resp.status_code == 202, resp.text
    await hs.runtime.services.redaction_jobs.run_to_completion()
    assert (await _job(root, resp.json()["job_id"]))["redacted"] == 2
    untouched = await seen_by(bob, rooms[0], sent[rooms[0]][0])
    assert untouched["content"]["body"] == "spam 0"


async def test_a_dry_run_counts_and_changes_nothing(hs: Homeserver) -> None:
    """House style: destructive code "has a dry-run mode"."""
    await with_moderator(hs)
    root = await hs.register_user("root", admin=True)
    bob, _rooms, _sent = await _bob_in_two_rooms(hs)
    resp = await root.post(f"/_bastion/admin/v1/users/{bob.user_id}/redact", json={"dry_run": True})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"dry_run": True, "messages": 5}
    assert await hs.runtime.db.fetch_val("SELECT COUNT(*) FROM redaction_jobs") == 0
    assert await audit_rows(hs, "user.redact_all") == []


async def test_refusals_are_answered_at_once(hs: Homeserver) -> None:
    """No moderation account: 400 naming `rooms.moderator`, no job; an unknown room or job:
    404; an invalid user ID: 400."""
    root = await hs.register_user("root", admin=True)
    bob = await hs.register_user("bob")
    resp = await root.post(f"/_bastion/admin/v1/users/{bob.user_id}/redact", json={})
    assert errcode(resp) == (400, "M_INVALID_PARAM")
    assert "rooms.moderator" in resp.json()["error"]
    assert await audit_rows(hs, "user.redact_all") == [("failure", bob.user_id)]
    await with_moderator(hs)
    missing_room = await root.post(
        f"/_bastion/admin/v1/users/{bob.user_id}/redact", json={"room_id": "!nope:x"}
    )
    assert errcode(missing_room) == (404, "M_NOT_FOUND")
    assert errcode(await root.get("/_bastion/admin/v1/redactions/nope")) == (404, "M_NOT_FOUND")
    bad = await root.post("/_bastion/admin/v1/users/not-a-user/redact", json={})
    assert errcode(bad) == (400, "M_INVALID_PARAM")


async def closed_and_open_rooms(hs: Homeserver) -> tuple[UserClient, UserClient, list[str]]:
    """bob posts in a room made before the policy whose admin left (the moderation account
    cannot act there) and in one made under it. Returns root, bob and [closed room, its
    message, open room, its message]."""
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    closed = await alice.create_room(preset="public_chat", room_version="11")
    await bob.join(closed)
    kept = await bob.send_text(closed, "in a room nobody can moderate")
    assert (await alice.post(f"/rooms/{closed}/leave", json={})).status_code == 200
    await with_moderator(hs)
    open_room = await alice.create_room(preset="public_chat")
    await bob.join(open_room)
    gone = await bob.send_text(open_room, "removable")
    return await hs.register_user("root", admin=True), bob, [closed, kept, open_room, gone]


async def test_a_room_it_cannot_act_in_is_skipped_not_blocking(hs: Homeserver) -> None:
    """A room made before the policy whose admin left: refused there (counted), the rest done."""
    root, bob, (closed, kept, open_room, gone) = await closed_and_open_rooms(hs)

    resp = await root.post(f"/_bastion/admin/v1/users/{bob.user_id}/redact", json={})
    await hs.runtime.services.redaction_jobs.run_to_completion()
    done = await _job(root, resp.json()["job_id"])
    assert (done["status"], done["redacted"], done["refused"]) == ("complete", 1, 1)
    assert (await seen_by(bob, closed, kept))["content"]["body"] == "in a room nobody can moderate"
    assert (await seen_by(bob, open_room, gone))["content"] == {}


async def test_a_job_resumes_after_a_restart(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    """Stopped after its first batch (the server goes away), the job is picked up by the next
    server from its committed progress: every message is redacted exactly once."""
    async with homeserver_with(tmp_path, database_config) as first:
        moderator = await with_moderator(first)
        root = await first.register_user("root", admin=True)
        bob, _rooms, sent = await _bob_in_two_rooms(first)
        resp = await root.post(f"/_bastion/admin/v1/users/{bob.user_id}/redact", json={})
        job_id = resp.json()["job_id"]
        await first.runtime.services.redaction_jobs.run_pending(batch=3)
    async with homeserver_with(tmp_path, database_config) as second:
        worker = RedactionJobsWorker(
            second.runtime.services.redaction_jobs,
            second.runtime.services.redactions.work_added,
            second.clock,
        )
        await worker.run_once()  # what `bastion serve` starts with: jobs left pending
        admin = UserClient(second.http, root.user_id, root.device_id, root.token)
        status = await _job(admin, job_id)
        assert (status["status"], status["redacted"]) == ("complete", 5)
        assert await _redactions_by(second, moderator) == 5
        assert len(sent) == 2


async def test_the_worker_wakes_when_a_job_is_queued(hs: Homeserver) -> None:
    """The worker idles until a job is queued (no polling loop needed in the same process)."""
    await with_moderator(hs)
    root = await hs.register_user("root", admin=True)
    bob = await hs.register_user("bob")
    services = hs.runtime.services
    worker = RedactionJobsWorker(services.redaction_jobs, services.redactions.work_added, hs.clock)
    await worker.run_once()  # nothing pending
    waiting = asyncio.ensure_future(worker.wait_next())
    idle, _ = await asyncio.wait({waiting}, timeout=0)  # one turn of the loop: still waiting
    assert idle == set()
    resp = await root.post(f"/_bastion/admin/v1/users/{bob.user_id}/redact", json={})
    assert resp.status_code == 202, resp.text
    await asyncio.wait_for(waiting, timeout=5)
