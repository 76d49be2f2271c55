"""Synapse's Delete Room API: a durable background job, its status, blocking and purging.

Issue #12: "`v2/rooms/{roomId}` DELETE (`block`, `purge`, `message`) with
`v2/rooms/delete_status/{deleteId}`"; "a DELETE may carry a JSON body".

Synapse's Delete Room API: "The API starts the shut down and purge running, and returns
immediately with a JSON body with a purge id"; "`block` - Optional. If set to `true`, this room
will be added to a blocking list, preventing future attempts to join the room"; "`purge` -
Optional. If set to `true`, it will remove all traces of the room from your database";
"`status` - The status will be one of: `scheduled`, `active`, `complete`, `failed`";
"`shutdown_room` ... `kicked_users`, `failed_to_kick_users`, `local_aliases`, `new_room_id`".
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bastion.app import Runtime
from bastion.workers.room_deletion import RoomDeletionWorker
from tests.conftest import Homeserver, UserClient, errcode

SHUTDOWN_FIELDS = {"kicked_users", "failed_to_kick_users", "local_aliases", "new_room_id"}


async def _room(
    hs: Homeserver, version: str = "12"
) -> tuple[UserClient, UserClient, UserClient, str]:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(
        preset="public_chat", room_version=version, room_alias_name="ward"
    )
    await bob.join(room_id)
    return root, alice, bob, room_id


async def _status(root: UserClient, delete_id: str) -> dict[str, Any]:
    resp = await root.get(f"/_synapse/admin/v2/rooms/delete_status/{delete_id}")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def _run_jobs(hs: Homeserver) -> None:
    """One iteration of the worker `bastion serve` runs."""
    await RoomDeletionWorker(hs.runtime.services.room_deletion, hs.clock).run_once()


@pytest.mark.parametrize("version", ["9", "10", "11", "12"])
async def test_v2_delete_schedules_then_kicks_blocks_and_purges(
    hs: Homeserver, version: str
) -> None:
    root, alice, bob, room_id = await _room(hs, version)

    resp = await root.delete(
        f"/_synapse/admin/v2/rooms/{room_id}",
        json={"block": True, "purge": True, "message": "closed by IT", "unknown": 1},
    )
    assert resp.status_code == 200, resp.text
    delete_id = resp.json()["delete_id"]
    scheduled = await _status(root, delete_id)
    assert scheduled["status"] == "scheduled"
    assert set(scheduled["shutdown_room"]) == SHUTDOWN_FIELDS

    await _run_jobs(hs)

    done = await _status(root, delete_id)
    assert done["status"] == "complete"
    assert "error" not in done
    assert done["delete_id"] == delete_id
    assert done["room_id"] == room_id
    assert sorted(done["shutdown_room"]["kicked_users"]) == sorted([alice.user_id, bob.user_id])
    assert done["shutdown_room"]["failed_to_kick_users"] == []
    assert done["shutdown_room"]["local_aliases"] == [f"#ward:{hs.server_name}"]
    assert done["shutdown_room"]["new_room_id"] is None
    gone = await root.get(f"/_synapse/admin/v1/rooms/{room_id}")
    assert errcode(gone) == (404, "M_NOT_FOUND")
    assert errcode(await bob.post(f"/join/{room_id}", json={})) == (403, "M_FORBIDDEN")
    alias = await alice.get(f"/directory/room/%23ward:{hs.server_name}")
    assert errcode(alias) == (404, "M_NOT_FOUND")
    by_room = (await root.get(f"/_synapse/admin/v2/rooms/{room_id}/delete_status")).json()
    assert [r["delete_id"] for r in by_room["results"]] == [delete_id]
    actions = await hs.runtime.db.fetch_all(
        "SELECT action, outcome FROM audit_log WHERE target = ? AND action LIKE 'room.%'"
        " AND action <> 'room.create' ORDER BY seq",
        room_id,
    )
    assert [(r[0], r[1]) for r in actions] == [
        ("room.delete", "success"),
        ("room.close", "success"),
    ]


@pytest.mark.parametrize("version", ["11", "12"])
async def test_a_blocked_room_kept_unpurged_cannot_be_joined(hs: Homeserver, version: str) -> None:
    root, alice, bob, room_id = await _room(hs, version)

    resp = await root.delete(
        f"/_synapse/admin/v2/rooms/{room_id}",
        json={"block": True, "purge": False, "message": "bye"},
    )
    await _run_jobs(hs)

    assert (await _status(root, resp.json()["delete_id"]))["status"] == "complete"
    details = (await root.get(f"/_synapse/admin/v1/rooms/{room_id}")).json()
    assert details["joined_members"] == 0
    state = await root.get(
        f"/_synapse/admin/v1/rooms/{room_id}/state", params={"type": "m.room.member"}
    )
    reasons = {e["state_key"]: e["content"] for e in state.json()["state"]}
    assert reasons[bob.user_id] == {"membership": "leave", "reason": "bye"}
    assert errcode(await bob.post(f"/join/{room_id}", json={})) == (403, "M_FORBIDDEN")
    assert errcode(await alice.post(f"/join/{room_id}", json={})) == (403, "M_FORBIDDEN")


async def test_members_move_to_the_new_room_with_the_aliases(hs: Homeserver) -> None:
    """ "`new_room_user_id` - ... all users in the old room will be moved into that room"."""
    root, alice, bob, room_id = await _room(hs)

    resp = await root.delete(
        f"/_synapse/admin/v1/rooms/{room_id}",
        json={"new_room_user_id": root.user_id, "message": "This room broke the rules"},
    )

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == SHUTDOWN_FIELDS
    new_room = body["new_room_id"]
    assert new_room is not None
    members = (await root.get(f"/_synapse/admin/v1/rooms/{new_room}/members")).json()
    assert set(members["members"]) == {root.user_id, alice.user_id, bob.user_id}
    alias = await alice.get(f"/directory/room/%23ward:{hs.server_name}")
    assert alias.json()["room_id"] == new_room


async def test_an_interrupted_job_resumes_after_a_restart(hs: Homeserver) -> None:
    """The job's row survives the process: the next start finishes it without redoing."""
    root, alice, bob, room_id = await _room(hs)
    resp = await root.delete(f"/_synapse/admin/v2/rooms/{room_id}", json={"purge": False})
    delete_id = resp.json()["delete_id"]
    # The process got as far as alice leaving and recording it, then died.
    assert (await alice.post(f"/rooms/{room_id}/leave", json={})).status_code == 200
    await hs.runtime.db.execute(
        "UPDATE room_deletions SET status = 'active', result = ? WHERE delete_id = ?",
        f'{{"kicked_users":["{alice.user_id}"],"failed_to_kick_users":[],"local_aliases":[],'
        '"new_room_id":null}',
        delete_id,
    )

    restarted = await Runtime.open(hs.runtime.config, hs.clock)  # the next start
    try:
        await RoomDeletionWorker(restarted.services.room_deletion, hs.clock).run_once()
    finally:
        await restarted.close()

    done = await _status(root, delete_id)
    assert done["status"] == "complete"
    assert done["shutdown_room"]["kicked_users"] == [alice.user_id, bob.user_id]
    assert (await root.get(f"/_synapse/admin/v1/rooms/{room_id}/members")).json()["total"] == 0


async def test_the_worker_wakes_when_a_deletion_is_scheduled(hs: Homeserver) -> None:
    """The job runs "in background" at once, not at the worker's next interval."""
    root, _, _, room_id = await _room(hs)
    worker = RoomDeletionWorker(hs.runtime.services.room_deletion, hs.clock)
    await worker.run_once()  # nothing to do yet
    waiting = asyncio.ensure_future(worker.wait_next())  # the FakeClock never ends its sleep

    resp = await root.delete(f"/_synapse/admin/v2/rooms/{room_id}", json={})
    await asyncio.wait_for(waiting, timeout=10)
    await worker.run_once()

    assert (await _status(root, resp.json()["delete_id"]))["status"] == "complete"
    assert worker.ran == 1


async def test_a_room_under_legal_hold_is_closed_but_not_purged(hs: Homeserver) -> None:
    """STYLE: "SQL purge queries join against holds so a held event cannot be purged"."""
    root, alice, bob, room_id = await _room(hs)
    db = hs.runtime.db
    await db.execute(
        "INSERT INTO legal_holds (hold_id, case_name, reason, created_by, created_ts)"
        " VALUES ('h1', 'case', 'litigation', 'test', 0)"
    )
    await db.execute("INSERT INTO legal_hold_rooms (hold_id, room_id) VALUES ('h1', ?)", room_id)
    resp = await root.delete(f"/_synapse/admin/v2/rooms/{room_id}", json={"purge": True})

    await _run_jobs(hs)

    status = await _status(root, resp.json()["delete_id"])
    assert status["status"] == "failed"
    assert "legal hold" in status["error"]
    assert sorted(status["shutdown_room"]["kicked_users"]) == sorted([alice.user_id, bob.user_id])
    details = await root.get(f"/_synapse/admin/v1/rooms/{room_id}")
    assert details.status_code == 200
    assert await db.fetch_val("SELECT COUNT(*) FROM events WHERE room_id = ?", room_id) > 0


async def test_refusals_and_unknowns(hs: Homeserver) -> None:
    root, _, _, room_id = await _room(hs)
    unknown_room = await root.delete(f"/_synapse/admin/v2/rooms/!nope:{hs.server_name}", json={})
    assert errcode(unknown_room) == (404, "M_NOT_FOUND")
    unknown_id = await root.get("/_synapse/admin/v2/rooms/delete_status/nope")
    assert errcode(unknown_id) == (404, "M_NOT_FOUND")
    no_task = await root.get(f"/_synapse/admin/v2/rooms/{room_id}/delete_status")
    assert errcode(no_task) == (404, "M_NOT_FOUND")
    remote = await root.delete(
        f"/_synapse/admin/v2/rooms/{room_id}", json={"new_room_user_id": "@x:elsewhere.example"}
    )
    assert errcode(remote) == (400, "M_INVALID_PARAM")
    first = await root.delete(f"/_synapse/admin/v2/rooms/{room_id}", json={})
    assert first.status_code == 200
    again = await root.delete(f"/_synapse/admin/v2/rooms/{room_id}", json={})
    assert again.status_code == 400


async def test_every_route_refuses_a_non_admin(hs: Homeserver) -> None:
    root, alice, _, room_id = await _room(hs)
    delete_id = (await root.delete(f"/_synapse/admin/v2/rooms/{room_id}", json={})).json()[
        "delete_id"
    ]
    refused = [
        await alice.delete(f"/_synapse/admin/v2/rooms/{room_id}", json={}),
        await alice.delete(f"/_synapse/admin/v1/rooms/{room_id}", json={}),
        await alice.get(f"/_synapse/admin/v2/rooms/delete_status/{delete_id}"),
        await alice.get(f"/_synapse/admin/v2/rooms/{room_id}/delete_status"),
    ]
    assert [errcode(r) for r in refused] == [(403, "M_FORBIDDEN")] * 4
