"""Synapse's "Redact events of a user" (docs/admin_api/user_admin_api.md), each test from its
sentences: `POST /_synapse/admin/v1/user/<user_id>/redact` with `rooms` ("If an empty list is
provided ... all events in all rooms ... will be redacted, otherwise all the events in the rooms
provided"), `after_ts`/`before_ts` ("If only one parameter is provided, all events occurring on
or before/after given time will be redacted"), `limit` ("the number of the user's events ...
(events are redacted newest to oldest) in each room"), answering `redact_id`; and
`GET /_synapse/admin/v1/user/redact_status/<redact_id>` (`status`, `failed_redactions`: "event
ids the process was unable to redact ... and ... the corresponding error").
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from tests.api.admin.test_moderation_jobs import closed_and_open_rooms
from tests.api.admin.test_moderation_redact import audit_rows, seen_by, with_moderator
from tests.conftest import Homeserver, UserClient, errcode

ADMIN = "/_synapse/admin/v1/user"


async def _start(admin: UserClient, user_id: str, body: dict[str, Any]) -> str:
    resp = await admin.post(f"{ADMIN}/{quote(user_id)}/redact", json=body)
    assert resp.status_code == 200, resp.text
    assert set(resp.json()) == {"redact_id"}
    redact_id: str = resp.json()["redact_id"]
    return redact_id


async def _status(admin: UserClient, redact_id: str) -> dict[str, Any]:
    resp = await admin.get(f"{ADMIN}/redact_status/{redact_id}")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def _gone(client: UserClient, room_id: str, event_id: str) -> bool:
    return (await seen_by(client, room_id, event_id))["content"] == {}


async def _rooms_with_messages(
    hs: Homeserver, counts: tuple[int, ...]
) -> tuple[UserClient, list[str], list[list[str]]]:
    """bob posts `counts[i]` messages in room i (rooms made under the policy)."""
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    rooms, sent = [], []
    for count in counts:
        room_id = await alice.create_room(preset="public_chat")
        await bob.join(room_id)
        rooms.append(room_id)
        sent.append([await bob.send_text(room_id, f"spam {n}") for n in range(count)])
    return bob, rooms, sent


async def test_the_rooms_given_and_only_them(hs: Homeserver) -> None:
    """Two of three rooms named: their messages go, the third's stay; the status goes from
    scheduled to active to complete with no failed redactions; audited with the rooms."""
    await with_moderator(hs)
    root = await hs.register_user("root", admin=True)
    bob, rooms, sent = await _rooms_with_messages(hs, (2, 1, 2))

    redact_id = await _start(root, bob.user_id, {"rooms": rooms[:2], "reason": "spam"})
    assert await _status(root, redact_id) == {"status": "scheduled"}
    runner = hs.runtime.services.redaction_jobs
    assert await runner.run_pending(batch=2)
    assert await _status(root, redact_id) == {"status": "active"}
    await runner.run_to_completion()
    assert await _status(root, redact_id) == {"status": "complete", "failed_redactions": {}}

    for room_id, events in zip(rooms[:2], sent[:2], strict=True):
        for event_id in events:
            assert await _gone(bob, room_id, event_id)
            reason = (await seen_by(bob, room_id, event_id))["unsigned"]["redacted_because"]
            assert reason["content"]["reason"] == "spam"
    for event_id in sent[2]:
        assert not await _gone(bob, rooms[2], event_id)
    assert await audit_rows(hs, "user.redact_all") == [
        ("success", bob.user_id), ("success", bob.user_id),
    ]  # fmt: skip
    details = await hs.runtime.db.fetch_val(
        "SELECT details FROM audit_log WHERE action = 'user.redact_all' ORDER BY seq LIMIT 1"
    )
    assert sorted(rooms[:2]) == sorted(json.loads(details)["rooms"])


async def test_an_empty_list_is_every_room_left_ones_too(hs: Homeserver) -> None:
    """`rooms: []`: every room bob sent messages in, including one he has left since."""
    await with_moderator(hs)
    root = await hs.register_user("root", admin=True)
    bob, rooms, sent = await _rooms_with_messages(hs, (1, 1))
    assert (await bob.post(f"/rooms/{rooms[1]}/leave", json={})).status_code == 200

    redact_id = await _start(root, bob.user_id, {"rooms": []})
    await hs.runtime.services.redaction_jobs.run_to_completion()
    assert (await _status(root, redact_id))["status"] == "complete"
    assert await _gone(bob, rooms[0], sent[0][0])
    alice = await hs.login("alice")
    assert await _gone(alice, rooms[1], sent[1][0])


async def test_a_time_window_on_either_side(hs: Homeserver) -> None:
    """Only messages sent at or after `after_ts` and at or before `before_ts`; one bound
    alone is open on the other side."""
    await with_moderator(hs)
    root = await hs.register_user("root", admin=True)
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    sent, times = [], []
    for n in range(4):
        times.append(hs.clock.now_ms())
        sent.append(await bob.send_text(room_id, f"at {n}"))
        hs.clock.advance(60)

    window = {"rooms": [room_id], "after_ts": times[1], "before_ts": times[2]}
    await _start(root, bob.user_id, window)
    await hs.runtime.services.redaction_jobs.run_to_completion()
    assert [await _gone(bob, room_id, e) for e in sent] == [False, True, True, False]

    await _start(root, bob.user_id, {"rooms": [room_id], "before_ts": times[0]})
    await hs.runtime.services.redaction_jobs.run_to_completion()
    assert [await _gone(bob, room_id, e) for e in sent] == [True, True, True, False]

    await _start(root, bob.user_id, {"rooms": [room_id], "after_ts": times[3]})
    await hs.runtime.services.redaction_jobs.run_to_completion()
    assert all([await _gone(bob, room_id, e) for e in sent])


async def test_the_limit_takes_the_newest_in_each_room(hs: Homeserver) -> None:
    """`limit` 2: the two newest messages of each room go, older ones stay, across batches."""
    await with_moderator(hs)
    root = await hs.register_user("root", admin=True)
    bob, rooms, sent = await _rooms_with_messages(hs, (4, 1))

    redact_id = await _start(root, bob.user_id, {"rooms": [], "limit": 2})
    runner = hs.runtime.services.redaction_jobs
    while await runner.run_pending(batch=1):
        pass
    assert await _status(root, redact_id) == {"status": "complete", "failed_redactions": {}}
    assert [await _gone(bob, rooms[0], e) for e in sent[0]] == [False, False, True, True]
    assert await _gone(bob, rooms[1], sent[1][0])
    done = await root.get(f"/_bastion/admin/v1/redactions/{redact_id}")
    assert (done.json()["redacted"], done.json()["refused"]) == (3, 0)


async def test_what_could_not_be_redacted_is_listed_with_why(hs: Homeserver) -> None:
    """A room made before the policy whose admin left: the moderation account cannot act
    there, so bob's message in it is a failed redaction with the reason; the rest done."""
    root, bob, (closed, kept, open_room, gone) = await closed_and_open_rooms(hs)

    redact_id = await _start(root, bob.user_id, {"rooms": [closed, open_room]})
    await hs.runtime.services.redaction_jobs.run_to_completion()
    status = await _status(root, redact_id)
    assert status["status"] == "complete"
    assert list(status["failed_redactions"]) == [kept]
    assert isinstance(status["failed_redactions"][kept], str)
    assert status["failed_redactions"][kept]
    assert await _gone(bob, open_room, gone)
    assert not await _gone(bob, closed, kept)


async def test_a_second_redaction_of_a_user_waits_for_the_first(hs: Homeserver) -> None:
    """A second request for the same user is 400 ("Redact already in progress") while the first
    is queued or running; another user's is accepted; once the first completes, a new one is."""
    await with_moderator(hs)
    root = await hs.register_user("root", admin=True)
    bob, rooms, _sent = await _rooms_with_messages(hs, (2,))
    carol = await hs.register_user("carol")
    await carol.join(rooms[0])
    first = await _start(root, bob.user_id, {"rooms": []})
    again = await root.post(f"{ADMIN}/{quote(bob.user_id)}/redact", json={"rooms": rooms})
    assert errcode(again) == (400, "M_UNKNOWN")
    assert bob.user_id in again.json()["error"]
    await _start(root, carol.user_id, {"rooms": []})
    await hs.runtime.services.redaction_jobs.run_to_completion()
    assert (await _status(root, first))["status"] == "complete"
    assert await _start(root, bob.user_id, {"rooms": rooms}) != first


async def test_refusals(hs: Homeserver) -> None:
    """Malformed bodies, a negative limit, an unknown room, a bad user ID, unknown redact IDs
    and non-admins: clear errors, nothing queued."""
    await with_moderator(hs)
    root = await hs.register_user("root", admin=True)
    bob, rooms, _sent = await _rooms_with_messages(hs, (1,))
    path = f"{ADMIN}/{quote(bob.user_id)}/redact"

    assert errcode(await root.post(path, json={})) == (400, "M_BAD_JSON")  # rooms is required
    assert errcode(await root.post(path, json={"rooms": "all"})) == (400, "M_BAD_JSON")
    assert errcode(await root.post(path, json={"rooms": [], "limit": "10"})) == (400, "M_BAD_JSON")
    too_late = {"rooms": [], "before_ts": 2**70}
    assert errcode(await root.post(path, json=too_late)) == (400, "M_BAD_JSON")
    negative = await root.post(path, json={"rooms": [], "limit": -1})
    assert errcode(negative) == (400, "M_INVALID_PARAM")
    unknown = await root.post(path, json={"rooms": [rooms[0], "!nowhere:test.bastion"]})
    assert errcode(unknown) == (404, "M_NOT_FOUND")
    bad_user = await root.post(f"{ADMIN}/not-a-user/redact", json={"rooms": []})
    assert errcode(bad_user) == (400, "M_INVALID_PARAM")
    not_json = await root.post(path, content=b"{")
    assert errcode(not_json) == (400, "M_NOT_JSON")
    assert errcode(await root.get(f"{ADMIN}/redact_status/nope")) == (404, "M_NOT_FOUND")
    assert errcode(await bob.post(path, json={"rooms": []})) == (403, "M_FORBIDDEN")
    assert errcode(await bob.get(f"{ADMIN}/redact_status/nope")) == (403, "M_FORBIDDEN")
    queued = await hs.runtime.db.fetch_val("SELECT COUNT(*) FROM redaction_jobs")
    assert int(queued) == 0
    assert [o for o, _t in await audit_rows(hs, "user.redact_all")] == ["failure"]
