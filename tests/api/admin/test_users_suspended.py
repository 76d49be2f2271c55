"""Account suspension (spec: client-server-api#account-suspension, `GET`/`PUT
/_matrix/client/v1/admin/suspend/{userId}`): "Servers SHOULD permit the user to ... log in ...
see and receive messages ... leave rooms and reject invites ... redact their own events ... log
out"; "the recommended set of explicitly forbidden actions is: joining or knocking on rooms,
accepting or sending invites, sending messages to rooms, changing profile data, redacting other
users' events"; each answered "403 Forbidden ... M_USER_SUSPENDED"."""

from __future__ import annotations

from typing import Any

from tests.api.admin.users_helpers import audit_rows
from tests.conftest import Homeserver, UserClient, errcode

SUSPEND = "/_matrix/client/v1/admin/suspend"
SUSPENDED = (403, "M_USER_SUSPENDED")
TEXT = {"msgtype": "m.text", "body": "hello"}


async def suspend(admin: UserClient, user_id: str, suspended: bool = True) -> dict[str, Any]:
    resp = await admin.put(f"{SUSPEND}/{user_id}", json={"suspended": suspended})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def test_a_suspended_account_reads_and_leaves_but_does_not_act(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    ward = await bob.create_room(name="Ward", invite=[alice.user_id])
    await alice.join(ward)
    own = await alice.send_text(ward, "before")
    bobs = await bob.send_text(ward, "from bob")
    pending = await bob.create_room(name="Pending invite", invite=[alice.user_id])
    other = await bob.create_room(name="Other", invite=[alice.user_id])
    public = await bob.create_room(name="Lobby", preset="public_chat")
    # alice has power to redact others in her own room
    mine = await alice.create_room(name="Mine", invite=[bob.user_id])
    await bob.join(mine)
    bob_in_mine = await bob.send_text(mine, "bob's words")

    assert await suspend(root, alice.user_id) == {"suspended": True}
    assert (await root.get(f"{SUSPEND}/{alice.user_id}")).json() == {"suspended": True}

    # Forbidden: send, state, join, accept an invite, invite, create, profile, redact others.
    refused = [
        await alice.put(f"/rooms/{ward}/send/m.room.message/t1", json=TEXT),
        await alice.put(f"/rooms/{ward}/state/m.room.topic/", json={"topic": "x"}),
        await alice.post(f"/join/{public}", json={}),
        await alice.post(f"/join/{pending}", json={}),
        await alice.post(f"/rooms/{mine}/invite", json={"user_id": "@root:test.bastion"}),
        await alice.post("/createRoom", json={"name": "New"}),
        await alice.put(f"/profile/{alice.user_id}/displayname", json={"displayname": "A"}),
        await alice.put(f"/profile/{alice.user_id}/m.tz", json={"m.tz": "Europe/Warsaw"}),
        await alice.delete(f"/profile/{alice.user_id}/org.example.title"),
        await alice.put(f"/rooms/{mine}/redact/{bob_in_mine}/r1", json={}),
    ]
    assert [errcode(r) for r in refused] == [SUSPENDED] * len(refused)

    # Still allowed: read, sync, redact her own event, reject an invite, leave, log out.
    messages = await alice.get(f"/rooms/{ward}/messages", params={"dir": "b"})
    assert bobs in [e["event_id"] for e in messages.json()["chunk"]]
    assert ward in (await alice.sync())["rooms"]["join"]
    redacted = await alice.put(f"/rooms/{ward}/redact/{own}/r2", json={})
    assert redacted.status_code == 200, redacted.text
    assert (await alice.post(f"/rooms/{other}/leave", json={})).status_code == 200
    assert (await alice.post(f"/rooms/{ward}/leave", json={})).status_code == 200
    # Others are not affected.
    assert (await bob.send_text(ward, "still here")).startswith("$")

    # Unsuspended: she acts again.
    assert await suspend(root, alice.user_id, False) == {"suspended": False}
    await alice.join(pending)
    assert (await alice.send_text(pending, "back")).startswith("$")
    actions = [r["actor"] for r in await audit_rows(hs, "user.suspend", alice.user_id)]
    assert actions == [root.user_id]
    assert len(await audit_rows(hs, "user.unsuspend", alice.user_id)) == 1
    details = (await root.get(f"/_synapse/admin/v2/users/{alice.user_id}")).json()
    assert details["suspended"] is False


async def test_the_notices_room_stays_open_to_a_suspended_account(hs: Homeserver) -> None:
    """ "Where a room is used to maintain communication between server administration teams
    and the suspended user, servers are recommended to allow the user to send events to that
    room specifically.\""""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    notice = {"msgtype": "m.text", "body": "Your account is suspended pending review."}
    resp = await root.post(
        "/_synapse/admin/v1/send_server_notice",
        json={"user_id": alice.user_id, "content": notice},
    )
    assert resp.status_code == 200, resp.text
    await suspend(root, alice.user_id)
    invites = (await alice.sync()).get("rooms", {}).get("invite", {})
    (notices_room,) = invites
    await alice.join(notices_room)
    timeline = (await alice.get(f"/rooms/{notices_room}/messages", params={"dir": "b"})).json()
    assert notice in [e["content"] for e in timeline["chunk"]]
    # Not a way around the suspension: another room's invite still cannot be accepted.
    other = await root.create_room(name="Elsewhere", invite=[alice.user_id])
    assert errcode(await alice.post(f"/join/{other}", json={})) == SUSPENDED


async def test_only_admins_and_only_active_accounts(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    resp = await bob.put(f"{SUSPEND}/{alice.user_id}", json={"suspended": True})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert errcode(await bob.get(f"{SUSPEND}/{alice.user_id}")) == (403, "M_FORBIDDEN")
    resp = await root.put(f"{SUSPEND}/@nobody:test.bastion", json={"suspended": True})
    assert errcode(resp) == (404, "M_NOT_FOUND")
    resp = await root.put(f"{SUSPEND}/{alice.user_id}", json={"suspended": "yes"})
    assert resp.status_code == 400
    # Suspending twice changes nothing more (one audit record).
    await suspend(root, alice.user_id)
    await suspend(root, alice.user_id)
    assert len(await audit_rows(hs, "user.suspend", alice.user_id)) == 1


async def test_synapse_s_suspend_endpoint(hs: Homeserver) -> None:
    """Synapse's `PUT /_synapse/admin/v1/suspend/<user_id>` with `{"suspend": bool}` (what
    tools written for Synapse send): the same suspension."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    path = f"/_synapse/admin/v1/suspend/{alice.user_id}"
    resp = await root.put(path, json={"suspend": True})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {f"user_{alice.user_id}_suspended": True}
    room = await root.create_room(name="Any", preset="public_chat")
    assert errcode(await alice.post(f"/join/{room}", json={})) == SUSPENDED
    resp = await root.put(path, json={"suspend": False})
    assert resp.json() == {f"user_{alice.user_id}_suspended": False}
    await alice.join(room)
    assert errcode(await alice.put(path, json={"suspend": True})) == (403, "M_FORBIDDEN")
