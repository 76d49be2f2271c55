"""Server notices: Synapse's `POST /_synapse/admin/v1/send_server_notice` and the acceptable-use
notice to every new account (issue #12 §1 and §4).

Spec (client-server-api, Server Notices): "Servers should manage exactly 1 server notices room
per user. Servers must identify this room to clients with the `m.server_notice` tag. Servers
should invite the target user rather than automatically join them to the server notice room."
Issue #12 §4: "`acceptable_use` (text in en/ar/pl sent to every new account as a server notice)".
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.scim.scim_helpers import Scim, scim_token
from tests.conftest import Homeserver, UserClient, errcode, open_registration

SEND = "/_synapse/admin/v1/send_server_notice"
POLICY = "/_bastion/admin/v1/policy"
NOTICE = {"msgtype": "m.text", "body": "Maintenance tonight at 22:00"}


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return open_registration()


async def invited_rooms(client: UserClient) -> dict[str, Any]:
    rooms: dict[str, Any] = (await client.sync()).get("rooms", {}).get("invite", {})
    return rooms


async def timeline_of(client: UserClient, room_id: str) -> list[dict[str, Any]]:
    resp = await client.get(f"/rooms/{room_id}/messages", params={"dir": "b", "limit": "50"})
    assert resp.status_code == 200, resp.text
    events: list[dict[str, Any]] = resp.json()["chunk"]
    return list(reversed(events))


async def test_a_notice_invites_the_user_to_a_tagged_notices_room(hs: Homeserver) -> None:
    """The notice answers `event_id`; the user is invited (not joined) to one room carrying the
    `m.server_notice` tag; a second notice goes to the same room."""
    admin = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    resp = await admin.post(SEND, json={"user_id": alice.user_id, "content": NOTICE})
    assert resp.status_code == 200, resp.text
    event_id = resp.json()["event_id"]
    assert set(resp.json()) == {"event_id"}
    invites = await invited_rooms(alice)
    assert len(invites) == 1
    room_id = next(iter(invites))
    tags = await alice.get(f"/user/{alice.user_id}/rooms/{room_id}/tags")
    assert tags.json() == {"tags": {"m.server_notice": {}}}
    await alice.join(room_id)
    timeline = await timeline_of(alice, room_id)
    notice = next(e for e in timeline if e["event_id"] == event_id)
    assert (notice["sender"], notice["content"]) == (f"@server-notices:{hs.server_name}", NOTICE)
    name = await alice.get(f"/rooms/{room_id}/state/m.room.name/")
    assert name.json() == {"name": "Server Notices"}
    second = await admin.post(SEND, json={"user_id": alice.user_id, "content": NOTICE})
    assert second.json()["event_id"] in [e["event_id"] for e in await timeline_of(alice, room_id)]
    joined = (await alice.get("/joined_rooms")).json()["joined_rooms"]
    assert joined == [room_id]


async def test_only_the_notices_account_may_send_there(hs: Homeserver) -> None:
    """Notices are one-way: the user may read, not post."""
    admin = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    await admin.post(SEND, json={"user_id": alice.user_id, "content": NOTICE})
    room_id = next(iter(await invited_rooms(alice)))
    await alice.join(room_id)
    resp = await alice.put(f"/rooms/{room_id}/send/m.room.message/t1", json=NOTICE)
    assert errcode(resp) == (403, "M_FORBIDDEN")


async def test_a_user_who_left_gets_a_new_notices_room(hs: Homeserver) -> None:
    admin = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    await admin.post(SEND, json={"user_id": alice.user_id, "content": NOTICE})
    first = next(iter(await invited_rooms(alice)))
    await alice.join(first)
    assert (await alice.post(f"/rooms/{first}/leave", json={})).status_code == 200
    await admin.post(SEND, json={"user_id": alice.user_id, "content": NOTICE})
    second = next(iter(await invited_rooms(alice)))
    assert second != first


async def test_a_state_notice_with_type_and_state_key(hs: Homeserver) -> None:
    """`type` and `state_key` make the notice a state event of that type."""
    admin = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    body = {
        "user_id": alice.user_id,
        "type": "m.room.topic",
        "state_key": "",
        "content": {"topic": "Read me"},
    }
    assert (await admin.post(SEND, json=body)).status_code == 200
    room_id = next(iter(await invited_rooms(alice)))
    await alice.join(room_id)
    topic = await alice.get(f"/rooms/{room_id}/state/m.room.topic/")
    assert topic.json() == {"topic": "Read me"}


async def test_notices_rooms_are_made_whatever_the_room_policy(hs: Homeserver) -> None:
    """The notices room is the server's: `rooms.creation: admins` does not stop it."""
    admin = await hs.register_user("root", admin=True)
    assert (await admin.put(POLICY, json={"rooms": {"creation": "admins"}})).status_code == 200
    alice = await hs.register_user("alice")
    resp = await admin.post(SEND, json={"user_id": alice.user_id, "content": NOTICE})
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize(
    ("user_id", "expected"),
    [
        ("@someone:elsewhere.example", (400, "M_INVALID_PARAM")),
        ("not a user", (400, "M_INVALID_PARAM")),
        ("@nobody:{server}", (404, "M_NOT_FOUND")),
    ],
)
async def test_refused_targets_are_audited_as_failed(
    hs: Homeserver, user_id: str, expected: tuple[int, str]
) -> None:
    admin = await hs.register_user("root", admin=True)
    target = user_id.format(server=hs.server_name)
    resp = await admin.post(SEND, json={"user_id": target, "content": NOTICE})
    assert errcode(resp) == expected
    rows = await hs.runtime.db.fetch_all(
        "SELECT outcome FROM audit_log WHERE action = 'server_notice.send'"
    )
    assert [r[0] for r in rows] == ["failure"]


async def test_a_notice_is_audited(hs: Homeserver) -> None:
    admin = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    event_id = (await admin.post(SEND, json={"user_id": alice.user_id, "content": NOTICE})).json()
    rows = await hs.runtime.db.fetch_all(
        "SELECT actor, target, outcome, details FROM audit_log WHERE action = 'server_notice.send'"
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [(admin.user_id, alice.user_id, "success")]
    assert json.loads(rows[0][3])["event_id"] == event_id["event_id"]


async def test_non_admins_are_refused(hs: Homeserver) -> None:
    """Only server admins: 403 M_FORBIDDEN, and nothing is sent."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    resp = await alice.post(SEND, json={"user_id": bob.user_id, "content": NOTICE})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    resp = await alice.put(f"{SEND}/t1", json={"user_id": bob.user_id, "content": NOTICE})
    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert await invited_rooms(bob) == {}


async def acceptable_use_bodies(client: UserClient) -> list[str]:
    invites = await invited_rooms(client)
    assert len(invites) == 1
    room_id = next(iter(invites))
    await client.join(room_id)
    timeline = await timeline_of(client, room_id)
    return [e["content"]["body"] for e in timeline if e["type"] == "m.room.message"]


async def test_acceptable_use_reaches_every_new_account(hs: Homeserver) -> None:
    """Each non-empty language's text reaches a new account, whether an admin made it or it
    registered itself; accounts made before the text was set get nothing."""
    admin = await hs.register_user("root", admin=True)
    before = await hs.register_user("early")
    texts = {"en": "Be kind.", "ar": "كن لطيفا.", "pl": ""}
    assert (await admin.put(POLICY, json={"acceptable_use": texts})).status_code == 200
    made = await hs.register_user("alice")
    assert await acceptable_use_bodies(made) == ["Be kind.", "كن لطيفا."]
    body = {
        "username": "bob",
        "password": "correct horse battery",
        "auth": {"type": "m.login.dummy"},
    }
    first = await hs.http.post("/_matrix/client/v3/register", json=body)
    if first.status_code == 401:
        auth = {"type": "m.login.dummy", "session": first.json()["session"]}
        first = await hs.http.post("/_matrix/client/v3/register", json={**body, "auth": auth})
    assert first.status_code == 200, first.text
    registered = UserClient(
        hs.http, first.json()["user_id"], first.json()["device_id"], first.json()["access_token"]
    )
    assert await acceptable_use_bodies(registered) == ["Be kind.", "كن لطيفا."]
    assert await invited_rooms(before) == {}
    audited = await hs.runtime.db.fetch_all(
        "SELECT target FROM audit_log WHERE action = 'server_notice.send' AND outcome = 'success'"
    )
    assert sorted(r[0] for r in audited) == sorted([made.user_id] * 2 + [registered.user_id] * 2)


async def test_acceptable_use_reaches_accounts_from_scim_and_the_admin_api(
    hs: Homeserver,
) -> None:
    """Every way an account is made counts: SCIM provisioning and Synapse's PUT v2/users."""
    admin = await hs.register_user("root", admin=True)
    assert (
        await admin.put(POLICY, json={"acceptable_use": {"pl": "Bądź miły."}})
    ).status_code == 200
    scim = Scim(hs, await scim_token(hs))
    await scim.create_user("alice", password="correct horse battery")
    put = await admin.put(
        f"/_synapse/admin/v2/users/@bob:{hs.server_name}",
        json={"password": "correct horse battery"},
    )
    assert put.status_code == 201, put.text
    for name in ("alice", "bob"):
        client = await hs.login(name, "correct horse battery")
        assert await acceptable_use_bodies(client) == ["Bądź miły."]


async def test_the_invite_cannot_be_rejected_but_the_joined_room_can_be_left(
    hs: Homeserver,
) -> None:
    """Spec: "The client must not expect to be able to reject an invite to join the server notices
    room. Attempting to reject the invite must result in a `M_CANNOT_LEAVE_SERVER_NOTICE_ROOM`
    error. Servers should not prevent the user leaving the room after joining"."""
    admin = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    await admin.post(SEND, json={"user_id": alice.user_id, "content": NOTICE})
    room_id = next(iter(await invited_rooms(alice)))
    rejected = await alice.post(f"/rooms/{room_id}/leave", json={})
    assert errcode(rejected) == (403, "M_CANNOT_LEAVE_SERVER_NOTICE_ROOM")
    assert room_id in await invited_rooms(alice)
    await alice.join(room_id)
    assert (await alice.post(f"/rooms/{room_id}/leave", json={})).status_code == 200


async def test_offboarding_still_rejects_a_pending_notices_invite(hs: Homeserver) -> None:
    """Offboarding rejects a leaver's pending invites (issue #12 §2, step 3): the notices room's
    invite too, although the user could not reject it."""
    admin = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    await admin.post(SEND, json={"user_id": alice.user_id, "content": NOTICE})
    resp = await admin.post(f"/_synapse/admin/v1/deactivate/{alice.user_id}", json={})
    assert resp.status_code == 200, resp.text
    rows = await hs.runtime.db.fetch_all(
        "SELECT membership FROM memberships WHERE user_id = ?", alice.user_id
    )
    assert [r[0] for r in rows] == ["leave"]


async def test_the_put_form_is_idempotent_per_transaction_id(hs: Homeserver) -> None:
    """Synapse's `PUT /_synapse/admin/v1/send_server_notice/{txnId}`: a retransmission answers
    the first event and sends nothing new; another transaction ID is a new notice."""
    admin = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    body = {"user_id": alice.user_id, "content": NOTICE}
    first = await admin.put(f"{SEND}/t1", json=body)
    assert first.status_code == 200, first.text
    again = await admin.put(f"{SEND}/t1", json=body)
    assert again.json() == first.json()
    other = await admin.put(f"{SEND}/t2", json=body)
    assert other.json()["event_id"] != first.json()["event_id"]
    room_id = next(iter(await invited_rooms(alice)))
    await alice.join(room_id)
    messages = [e for e in await timeline_of(alice, room_id) if e["type"] == "m.room.message"]
    assert len(messages) == 2
