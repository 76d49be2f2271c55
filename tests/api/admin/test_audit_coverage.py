"""What the audit log records beyond admin actions (issue #12 §5): "Every admin action, login
success and failure, session revocation, power-level change, room creation ... is recorded ... in
the same transaction as the action"."""

from __future__ import annotations

import json
from typing import Any

from bastion.services.principal import Operator
from tests.conftest import PASSWORD, Homeserver, client_path


async def _records(hs: Homeserver, action: str) -> list[dict[str, Any]]:
    rows = await hs.runtime.db.fetch_all(
        "SELECT actor_kind, actor, target, outcome, details FROM audit_log"
        " WHERE action = ? ORDER BY seq",
        action,
    )
    return [
        {"kind": r[0], "actor": r[1], "target": r[2], "outcome": r[3], "details": json.loads(r[4])}
        for r in rows
    ]


async def test_logins_succeeding_and_failing(hs: Homeserver) -> None:
    await hs.create_user("alice")
    alice = await hs.login("alice")
    bad = await hs.http.post(
        client_path("/login"),
        json={"type": "m.login.password", "user": "alice", "password": "wrong password"},
    )
    assert bad.status_code == 403
    (success,) = await _records(hs, "login.success")
    assert success["actor"] == alice.user_id
    assert success["target"] == alice.user_id
    assert success["details"]["ip"] == "203.0.113.7"
    assert alice.device_id in success["details"]["actor_name"]
    (failure,) = await _records(hs, "login.failure")
    assert failure["kind"] == "anonymous"
    assert failure["actor"] == "203.0.113.7"
    assert failure["target"] == alice.user_id
    assert failure["outcome"] == "failure"
    assert failure["details"]["errcode"] == "M_FORBIDDEN"


async def test_session_revocations(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    second = await hs.login("alice")
    third = await hs.login("alice")
    auth = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "alice"},
            "password": PASSWORD}  # fmt: skip
    resp = await alice.post("/delete_devices", json={"devices": [second.device_id], "auth": auth})
    assert resp.status_code == 200, resp.text
    assert (await third.post("/logout")).status_code == 200
    assert (await alice.post("/logout/all")).status_code == 200
    (deleted,) = await _records(hs, "session.delete_devices")
    assert deleted["details"]["devices"] == [second.device_id]
    (logout,) = await _records(hs, "session.logout")
    assert logout["details"]["devices"] == [third.device_id]
    (everything,) = await _records(hs, "session.logout_all")
    assert everything["target"] == alice.user_id


async def test_room_creation_and_power_level_changes(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat", room_version="11")
    await bob.join(room_id)
    (created,) = await _records(hs, "room.create")
    assert created["actor"] == alice.user_id
    assert created["target"] == room_id
    assert created["details"]["creators"] == [alice.user_id]
    assert await _records(hs, "room.power_levels") == []  # the initial levels are the creation
    levels = (await alice.get(f"/rooms/{room_id}/state/m.room.power_levels")).json()
    levels["users"][bob.user_id] = 100
    resp = await alice.put(f"/rooms/{room_id}/state/m.room.power_levels", json=levels)
    assert resp.status_code == 200
    (change,) = await _records(hs, "room.power_levels")
    assert change["actor"] == alice.user_id
    assert change["details"]["users"] == {bob.user_id: {"from": None, "to": 100}}
    assert change["details"]["admins"] == sorted([alice.user_id, bob.user_id])
    assert change["details"]["event_id"] == resp.json()["event_id"]


async def test_v12_creators_are_admins_in_the_record(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat", room_version="12")
    await bob.join(room_id)
    levels = (await alice.get(f"/rooms/{room_id}/state/m.room.power_levels")).json()
    levels.setdefault("users", {})[bob.user_id] = 50
    assert (await alice.put(f"/rooms/{room_id}/state/m.room.power_levels", json=levels)).is_success
    (change,) = await _records(hs, "room.power_levels")
    assert change["details"]["admins"] == [alice.user_id]
    assert (await hs.runtime.services.audit_log.verify(hs_operator())).intact


def hs_operator() -> Any:

    return Operator("test")
