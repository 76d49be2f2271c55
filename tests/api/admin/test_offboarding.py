"""Offboarding (issue #12 §2): revoke, successors first, leave every room, unlist, erase; a job
that stops part-way resumes. Each rule runs in v10, v11 and v12 rooms.

"Deactivating a user [...] runs one durable, resumable workflow, each step recorded before the
next starts."
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bastion.services.offboarding.service import offboarding_lock
from bastion.services.principal import Operator
from bastion.store.sql.users import SqlUserStore
from bastion.workers.offboarding import OffboardingResumer
from tests.conftest import Homeserver, UserClient, errcode
from tests.exclusive_locks import waiting_for

OPERATOR = Operator("root")
VERSIONS = pytest.mark.parametrize("version", ["9", "10", "11", "12"])


class Interrupted(Exception):
    """What the test checkpoint raises: the process 'dies' here."""


async def _power(client: UserClient, room_id: str) -> dict[str, Any]:
    resp = await client.get(f"/rooms/{room_id}/state/m.room.power_levels/")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def _member(client: UserClient, room_id: str, user_id: str) -> dict[str, Any]:
    resp = await client.get(
        f"/rooms/{room_id}/state/m.room.member/{user_id}", params={"format": "event"}
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def _setup(hs: Homeserver, version: str) -> dict[str, Any]:
    """bob: sole admin of `own`, member of `other` (carol's), invited to `pending`;
    dave (bob's manager) is in `own`."""
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    dave = await hs.register_user("dave")
    own = await bob.create_room(room_version=version, preset="public_chat")
    other = await carol.create_room(room_version=version, preset="public_chat")
    pending = await carol.create_room(room_version=version)
    await dave.join(own)
    await bob.join(other)
    resp = await carol.post(f"/rooms/{pending}/invite", json={"user_id": bob.user_id})
    assert resp.status_code == 200, resp.text
    await SqlUserStore().set_manager(hs.runtime.db, bob.user_id, dave.user_id)
    return {"bob": bob, "carol": carol, "dave": dave, "own": own, "other": other,
            "pending": pending}  # fmt: skip


@VERSIONS
async def test_offboarding_promotes_the_manager_first_then_leaves_every_room(
    hs: Homeserver, version: str
) -> None:
    """ "in every room where they were the last admin, a successor is promoted *first* (their
    `manager` if set and a member [...])"; "they leave every room (kicked with reason
    "offboarded"; their pending invites rejected [...])"."""
    s = await _setup(hs, version)
    bob, dave, carol = s["bob"], s["dave"], s["carol"]
    report = await hs.runtime.services.offboarding.offboard(OPERATOR, bob.user_id)
    assert report.status == "done"
    assert report.successors_promoted == {s["own"]: dave.user_id}
    assert sorted(report.rooms_left) == sorted([s["own"], s["other"]])
    assert report.invites_rejected == [s["pending"]]
    assert report.sessions_revoked == 1
    assert report.rooms_without_successor == []
    assert (await _power(dave, s["own"]))["users"][dave.user_id] == 100
    for client, room_id in ((dave, s["own"]), (carol, s["other"]), (carol, s["pending"])):
        member = await _member(client, room_id, bob.user_id)
        assert member["content"]["membership"] == "leave"
    assert (await _member(dave, s["own"], bob.user_id))["content"]["reason"] == "offboarded"
    assert errcode(await bob.get("/account/whoami")) == (401, "M_UNKNOWN_TOKEN")


@VERSIONS
async def test_the_fallback_admin_is_invited_and_given_power(hs: Homeserver, version: str) -> None:
    """ "else the policy's fallback admin, who is invited and given power if not a member"."""
    await hs.register_user("root", admin=True)
    erin = await hs.register_user("erin")
    await hs.runtime.services.policy.replace(OPERATOR, {"rooms": {"fallback_admin": erin.user_id}})
    bob = await hs.register_user("bob")
    room = await bob.create_room(room_version=version)
    report = await hs.runtime.services.offboarding.offboard(OPERATOR, bob.user_id)
    assert report.successors_promoted == {room: erin.user_id}
    await erin.join(room)
    assert (await _power(erin, room))["users"][erin.user_id] == 100


@VERSIONS
async def test_a_room_without_any_successor_is_named_in_the_report(
    hs: Homeserver, version: str
) -> None:
    """ "No room is ever left without an admin when a successor exists; if none can be found,
    the report says so per room"."""
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room = await bob.create_room(room_version=version, preset="public_chat")
    await carol.join(room)
    shared = await carol.create_room(room_version=version, preset="public_chat")
    await bob.join(shared)
    report = await hs.runtime.services.offboarding.offboard(OPERATOR, bob.user_id)
    assert report.rooms_without_successor == [room]  # carol's room keeps carol
    assert report.successors_promoted == {}
    assert sorted(report.rooms_left) == sorted([room, shared])


async def test_a_parked_sync_fails_with_401_at_once(hs: Homeserver) -> None:
    """ "a /sync waiting for that user returns 401 `M_UNKNOWN_TOKEN` at once"."""
    bob = await hs.register_user("bob")
    since = (await bob.sync())["next_batch"]
    waiting = asyncio.ensure_future(bob.get("/sync", params={"since": since, "timeout": "600000"}))
    await hs.wait_for_waiting_syncs(1)
    await hs.runtime.services.offboarding.offboard(OPERATOR, bob.user_id)
    resp = await waiting  # a sync that waited out its timeout would answer 200
    assert errcode(resp) == (401, "M_UNKNOWN_TOKEN")


@VERSIONS
@pytest.mark.parametrize("stop_in", ["successors", "leave"])
async def test_a_job_stopped_after_the_first_room_resumes_and_completes(
    hs: Homeserver, version: str, stop_in: str
) -> None:
    """ "If the process dies between steps, the next start [...] completes it; a test kills the
    workflow after the first room and checks the resumed result"."""
    s = await _setup(hs, version)
    bob, dave = s["bob"], s["dave"]
    offboarding = hs.runtime.services.offboarding
    left: list[str] = []

    async def die_after_first_room(step: str, room_id: str) -> None:
        if step == stop_in:
            left.append(room_id)
            raise Interrupted

    offboarding.checkpoint = die_after_first_room
    with pytest.raises(Interrupted):
        await offboarding.offboard(OPERATOR, bob.user_id)
    assert len(left) == 1
    resp = await bob.get("/account/whoami")
    assert errcode(resp) == (401, "M_UNKNOWN_TOKEN")  # step 1 had committed
    offboarding.checkpoint = _nothing
    (report,) = await OffboardingResumer(offboarding, hs.clock).resume()
    assert report.status == "done"
    assert sorted(report.rooms_left) == sorted([s["own"], s["other"]])
    assert report.invites_rejected == [s["pending"]]
    assert report.successors_promoted == {s["own"]: dave.user_id}
    status = await offboarding.job(OPERATOR, report.job_id)
    assert status.status == "done"
    for client, room_id in ((dave, s["own"]), (s["carol"], s["other"])):
        assert (await _member(client, room_id, bob.user_id))["content"]["membership"] == "leave"


async def _nothing(step: str, room_id: str) -> None:
    return None


@VERSIONS
async def test_the_moderation_account_kicks_and_a_creator_leaves_themself(
    hs: Homeserver, version: str
) -> None:
    """Decided: the policy's moderation account kicks (reason "offboarded") where it has the
    power; elsewhere (a v12 creator nobody can kick) the leaver leaves themself."""
    mod = await hs.register_user("mod")
    await hs.runtime.services.policy.replace(OPERATOR, {"rooms": {"moderator": mod.user_id}})
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    # v12: the policy makes the moderation account an additional creator of every new room
    override = {} if version == "12" else {
        "power_level_content_override": {"users": {carol.user_id: 100, mod.user_id: 100}}
    }  # fmt: skip
    room = await carol.create_room(room_version=version, preset="public_chat", **override)
    await mod.join(room)
    await bob.join(room)
    own = await bob.create_room(room_version=version, preset="public_chat")
    await mod.join(own)
    await hs.runtime.services.offboarding.offboard(OPERATOR, bob.user_id)
    kicked = await _member(carol, room, bob.user_id)
    assert (kicked["sender"], kicked["content"]["reason"]) == (mod.user_id, "offboarded")
    gone = await _member(mod, own, bob.user_id)
    assert gone["content"]["membership"] == "leave"
    # bob was own's admin (creator): he could not be kicked by the moderator, who had no power
    assert gone["sender"] == bob.user_id


@VERSIONS
async def test_erase_clears_the_profile_and_redacts_messages(hs: Homeserver, version: str) -> None:
    """ "with `erase: true`: profile cleared and their messages redacted"."""
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room = await carol.create_room(room_version=version, preset="public_chat")
    await bob.join(room)
    event_id = await bob.send_text(room, "my secret")
    for field, value in (("m.tz", "Europe/Warsaw"), ("org.example.title", "Ward nurse")):
        resp = await bob.put(f"/profile/{bob.user_id}/{field}", json={field: value})
        assert resp.status_code == 200, resp.text
    report = await hs.runtime.services.offboarding.offboard(OPERATOR, bob.user_id, erase=True)
    assert report.events_redacted == 1
    assert report.profile_cleared
    resp = await carol.get(f"/rooms/{room}/event/{event_id}")
    assert resp.status_code == 200, resp.text
    assert resp.json()["content"] == {}
    profile = await carol.get(f"/profile/{bob.user_id}")
    assert profile.json() == {}  # display name, time zone and custom fields all gone
    # propagated to the room: bob's last join event there carries no display name
    page = await carol.get(f"/rooms/{room}/messages", params={"dir": "b", "limit": "20"})
    joins = [
        e["content"] for e in page.json()["chunk"]
        if e["type"] == "m.room.member" and e["state_key"] == bob.user_id
        and e["content"]["membership"] == "join"
    ]  # fmt: skip
    assert joins
    assert "displayname" not in joins[0]


async def test_the_leaver_is_gone_from_both_directories(hs: Homeserver) -> None:
    """ "removed from the user directory and room directory results"."""
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room = await bob.create_room(preset="public_chat", visibility="public")
    await carol.join(room)
    alone = await bob.create_room(preset="public_chat", visibility="public")
    await hs.runtime.services.offboarding.offboard(OPERATOR, bob.user_id)
    found = await carol.post("/user_directory/search", json={"search_term": "bob"})
    assert found.json()["results"] == []
    listed = await carol.get("/publicRooms")
    rooms = {r["room_id"]: r for r in listed.json()["chunk"]}
    assert alone not in rooms  # nobody left to answer in it
    assert rooms[room]["num_joined_members"] == 1


async def test_offboarding_is_audited_and_refused_to_non_admins(hs: Homeserver) -> None:
    """ "The workflow's report (rooms left, successors promoted, sessions revoked) is returned
    and audited"; only admins may offboard someone else."""
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    resp = await carol.post(f"/_bastion/admin/v1/users/{bob.user_id}/offboard", json={})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    root = await hs.register_user("root", admin=True)
    resp = await root.post(f"/_bastion/admin/v1/users/{bob.user_id}/offboard", json={})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "done"
    assert body["sessions_revoked"] == 1
    status = await root.get(f"/_bastion/admin/v1/offboarding/{body['job_id']}")
    assert status.json() == body
    rows = await hs.runtime.db.fetch_all(
        "SELECT action, outcome FROM audit_log WHERE target = ? ORDER BY seq", bob.user_id
    )
    actions = [(r[0], r[1]) for r in rows]
    assert ("user.offboard", "success") in actions
    assert ("user.deactivate", "success") in actions


async def test_synapse_deactivate_runs_the_workflow(hs: Homeserver) -> None:
    """Synapse's `POST /_synapse/admin/v1/deactivate/<user_id>` answers
    `{"id_server_unbind_result": "success"}`."""
    root = await hs.register_user("root", admin=True)
    bob = await hs.register_user("bob")
    room = await bob.create_room()
    resp = await root.post(f"/_synapse/admin/v1/deactivate/{bob.user_id}", json={"erase": False})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"id_server_unbind_result": "success"}
    assert (
        room
        in (
            await hs.runtime.services.offboarding.job(OPERATOR, await _last_job(hs, bob.user_id))
        ).rooms_left
    )
    carol = await hs.register_user("carol")
    resp = await carol.post(f"/_synapse/admin/v1/deactivate/{bob.user_id}", json={})
    assert errcode(resp) == (403, "M_FORBIDDEN")


async def test_a_run_on_another_process_is_waited_for(hs: Homeserver) -> None:
    """Issue #12: "one durable, resumable workflow"; issue #15: any process may be asked. A
    run of the user's job elsewhere (holding the job's lock) is waited for: nothing of this
    run starts until it ends (the leaver's token still works meanwhile)."""
    if hs.runtime.db.dialect != "postgres":
        pytest.skip("one process serves a SQLite file; its runs are serialised in process")
    root = await hs.register_user("root", admin=True)
    bob = await hs.register_user("bob")
    db, schema = hs.runtime.db, hs.runtime.config.database.schema
    async with db.exclusive(offboarding_lock(bob.user_id)):  # another process's run
        asked = asyncio.ensure_future(
            root.post(f"/_synapse/admin/v1/deactivate/{bob.user_id}", json={"erase": False})
        )
        assert await waiting_for(db, schema, offboarding_lock(bob.user_id)) == 1
        assert (await bob.get("/account/whoami")).status_code == 200
        assert not asked.done()
    resp = await asked
    assert resp.status_code == 200, resp.text
    assert errcode(await bob.get("/account/whoami")) == (401, "M_UNKNOWN_TOKEN")


async def _last_job(hs: Homeserver, user_id: str) -> str:
    job_id: str = await hs.runtime.db.fetch_val(
        "SELECT job_id FROM offboarding_jobs WHERE user_id = ? ORDER BY created_ts DESC", user_id
    )
    return job_id


async def test_a_promotion_that_committed_before_the_job_stopped_is_reported(
    hs: Homeserver,
) -> None:
    """The promotion commits in its own transaction: a job stopped right after it (before its
    progress) still reports the successor once resumed (it recorded the intent first)."""
    s = await _setup(hs, "12")
    offboarding = hs.runtime.services.offboarding

    async def die(step: str, room_id: str) -> None:
        raise Interrupted

    offboarding.checkpoint = die
    with pytest.raises(Interrupted):
        await offboarding.offboard(OPERATOR, s["bob"].user_id)
    # Rewind the saved report to the moment between the promotion and its progress.
    db = hs.runtime.db
    row = await db.fetch_one("SELECT job_id, report FROM offboarding_jobs")
    assert row is not None
    job_id, report = row[0], json.loads(row[1])
    report["successors_pending"] = report.pop("successors_promoted")
    await db.execute(
        "UPDATE offboarding_jobs SET report = ? WHERE job_id = ?", json.dumps(report), job_id
    )
    offboarding.checkpoint = _nothing
    (resumed,) = await OffboardingResumer(offboarding, hs.clock).resume()
    assert resumed.successors_promoted == {s["own"]: s["dave"].user_id}
    assert resumed.successors_pending == {}
