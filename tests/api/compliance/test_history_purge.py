"""An admin's purge of a room's history (Synapse's Purge History API), from its documentation:

"POST /_synapse/admin/v1/purge_history/<room_id>[/<event_id>]"; "By default, events sent by
local users are not deleted ... To delete local message events as well, set
`delete_local_events`"; "Room state data (such as joins, leaves, topic) is always preserved";
"If an event id is given, that event ... will be retained"; "it will never delete the last
message in a room"; "The API starts the purge running, and returns immediately with ... a purge
id"; "GET /_synapse/admin/v1/purge_history_status/<purge_id>" answers "active", "complete" or
"failed". And Bastion's rule for every purge path: a message a legal hold covers survives it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from bastion.store.sql.retention import SqlRetentionStore
from bastion.workers.history_purge import HistoryPurgeWorker
from tests.api.compliance.retention_helpers import DAY_S, event_ids_in_db, place_hold, send
from tests.api.test_media import download, upload
from tests.conftest import Homeserver, UserClient, errcode

ADMIN = "/_synapse/admin/v1"


async def start(
    admin: UserClient, room_id: str, body: Any, *, event_id: str | None = None
) -> httpx.Response:
    path = f"{ADMIN}/purge_history/{quote(room_id, safe='')}"
    if event_id is not None:
        path += f"/{quote(event_id, safe='')}"
    return await admin.post(path, json=body)


async def purged(hs: Homeserver, admin: UserClient, room_id: str, body: Any, **kw: Any) -> str:
    """Start a purge, run the worker once, and check that it completed; its purge_id."""
    resp = await start(admin, room_id, body, **kw)
    assert resp.status_code == 200, resp.text
    purge_id: str = resp.json()["purge_id"]
    assert await status(admin, purge_id) == {"status": "active"}  # answered before it runs
    await HistoryPurgeWorker(hs.runtime.services.history_purges, hs.clock).run_once()
    assert await status(admin, purge_id) == {"status": "complete"}
    return purge_id


async def status(admin: UserClient, purge_id: str) -> dict[str, Any]:
    resp = await admin.get(f"{ADMIN}/purge_history_status/{purge_id}")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def audit(hs: Homeserver) -> list[tuple[str, str, dict[str, Any]]]:
    rows = await hs.runtime.db.fetch_all(
        "SELECT actor, outcome, details FROM audit_log WHERE action = 'room.purge_history'"
        " ORDER BY seq"
    )
    return [(r[0], r[1], json.loads(r[2])) for r in rows]


async def bodies_seen(user: UserClient, room_id: str) -> list[str]:
    """The message bodies the user's client can page back through, oldest first."""
    resp = await user.get(f"/rooms/{room_id}/messages", params={"dir": "b", "limit": "50"})
    assert resp.status_code == 200, resp.text
    chunk = resp.json()["chunk"]
    return [e["content"]["body"] for e in reversed(chunk) if e["type"] == "m.room.message"]


async def test_up_to_an_event_its_earlier_messages_go_and_state_stays(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(name="Ward 7")
    scan = await upload(hs, alice, b"an old scan")
    kept_file = await upload(hs, alice, b"also named later")
    image = {"msgtype": "m.image", "body": "scan.png", "url": f"mxc://{hs.server_name}/{scan}"}
    await send(alice, room_id, "m.room.message", image)
    shared = {**image, "url": f"mxc://{hs.server_name}/{kept_file}"}
    await send(alice, room_id, "m.room.message", shared)
    ids = [await alice.send_text(room_id, f"m{i}") for i in range(1, 4)]
    topic = await alice.put(f"/rooms/{room_id}/state/m.room.topic/", json={"topic": "beds"})
    topic_id = topic.json()["event_id"]
    later = [await alice.send_text(room_id, f"m{i}") for i in range(4, 6)]
    await send(alice, room_id, "m.room.message", shared)

    purge_id = await purged(hs, root, room_id, {"delete_local_events": True}, event_id=later[0])

    stored = await event_ids_in_db(hs, room_id)
    assert not stored & set(ids)
    assert {topic_id, *later} <= stored  # state stays; the point itself stays
    assert await bodies_seen(alice, room_id) == ["m4", "m5", "scan.png"]
    name = await alice.get(f"/rooms/{room_id}/state/m.room.name/")
    assert name.json() == {"name": "Ward 7"}  # the creation's state stays
    # The old scan was named only by a purged message: it goes. The other is still named.
    assert (await download(hs, alice, scan)).status_code == 404
    assert (await download(hs, alice, kept_file)).status_code == 200
    records = await audit(hs)
    assert [(r[0], r[1], r[2]["phase"]) for r in records] == [
        (root.user_id, "success", "requested"),
        ("server", "success", "complete"),
    ]
    assert records[1][2] == {
        "purge_id": purge_id, "phase": "complete", "deleted": 5,
        "actor_name": f"server (history purge requested by {root.user_id})",
    }  # fmt: skip


async def test_a_held_message_survives_the_purge(hs: Homeserver) -> None:
    """A hold on a person keeps their messages through this purge path too."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    held = [await bob.send_text(room_id, f"bob {i}") for i in range(3)]
    unheld = [await alice.send_text(room_id, f"alice {i}") for i in range(3)]
    point = await alice.send_text(room_id, "the point")
    await place_hold(root, users=[bob.user_id])

    await purged(hs, root, room_id, {"delete_local_events": True, "purge_up_to_event_id": point})

    stored = await event_ids_in_db(hs, room_id)
    assert set(held) <= stored
    assert not stored & set(unheld)


async def test_up_to_a_time_the_last_event_before_it_is_the_point(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    old = [await alice.send_text(room_id, f"old {i}") for i in range(3)]
    hs.clock.advance(DAY_S)
    cut = hs.clock.now_ms()
    hs.clock.advance(DAY_S)
    new = await alice.send_text(room_id, "new")

    await purged(hs, root, room_id, {"delete_local_events": True, "purge_up_to_ts": cut})

    stored = await event_ids_in_db(hs, room_id)
    assert not stored & set(old[:2])
    assert {old[2], new} <= stored  # "old 2", the last before the time, is the point: kept
    # A time before the room's first event: nothing to purge.
    resp = await start(root, room_id, {"purge_up_to_ts": 1})
    assert errcode(resp) == (404, "M_NOT_FOUND")


async def test_without_delete_local_events_this_servers_messages_stay(hs: Homeserver) -> None:
    """Synapse's default purges only other servers' users' events; Bastion holds none."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    ids = [await alice.send_text(room_id, f"m{i}") for i in range(3)]
    point = await alice.send_text(room_id, "the point")
    before = await event_ids_in_db(hs, room_id)

    purge_id = await purged(hs, root, room_id, {}, event_id=point)

    assert set(ids) <= await event_ids_in_db(hs, room_id) == before
    finished = (await audit(hs))[-1][2]
    assert (finished["purge_id"], finished["deleted"]) == (purge_id, 0)


async def test_an_interrupted_purge_resumes_and_deletes_each_event_once(
    hs: Homeserver, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    ids = [await alice.send_text(room_id, f"m{i}") for i in range(7)]
    point = await alice.send_text(room_id, "the point")
    purges = hs.runtime.services.history_purges
    monkeypatch.setattr(purges, "_batch", 3)
    original = SqlRetentionStore.delete_history
    calls = 0

    async def killed_after_one_batch(self: SqlRetentionStore, *args: Any, **kw: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:  # the process dies in the second batch (its transaction rolls back)
            raise asyncio.CancelledError
        return await original(self, *args, **kw)

    monkeypatch.setattr(SqlRetentionStore, "delete_history", killed_after_one_batch)
    resp = await start(root, room_id, {"delete_local_events": True}, event_id=point)
    purge_id = resp.json()["purge_id"]
    with pytest.raises(asyncio.CancelledError):
        await purges.run_pending()
    assert await status(root, purge_id) == {"status": "active"}
    assert not (await event_ids_in_db(hs, room_id)) & set(ids[:3])
    assert set(ids[3:]) <= await event_ids_in_db(hs, room_id)

    monkeypatch.setattr(SqlRetentionStore, "delete_history", original)
    await HistoryPurgeWorker(purges, hs.clock).run_once()  # the next start
    assert await status(root, purge_id) == {"status": "complete"}
    assert not (await event_ids_in_db(hs, room_id)) & set(ids)
    assert (await audit(hs))[-1][2]["deleted"] == 7  # each event counted once


async def test_an_unexpected_error_fails_the_purge_and_says_why(
    hs: Homeserver, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    await alice.send_text(room_id, "m1")
    point = await alice.send_text(room_id, "the point")

    async def broken(*_args: Any, **_kw: Any) -> Any:
        raise OSError("the disk went away")

    monkeypatch.setattr(SqlRetentionStore, "delete_history", broken)
    resp = await start(root, room_id, {"delete_local_events": True}, event_id=point)
    purge_id = resp.json()["purge_id"]
    await hs.runtime.services.history_purges.run_pending()
    assert await status(root, purge_id) == {"status": "failed", "error": "OSError"}
    _, outcome, details = (await audit(hs))[-1]
    assert (outcome, details["phase"], details["error"]) == ("failure", "failed", "OSError")


async def test_refusals(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    other = await alice.create_room()
    point = await alice.send_text(room_id, "m1")
    elsewhere = await alice.send_text(other, "m1")
    for room, body, event_id, expected in (
        (room_id, {}, None, (400, "M_BAD_JSON")),  # no point
        (room_id, {"purge_up_to_ts": "yesterday"}, None, (400, "M_BAD_JSON")),
        (room_id, {"purge_up_to_ts": 1.5}, None, (400, "M_BAD_JSON")),
        (room_id, {"purge_up_to_ts": 2**70}, None, (400, "M_BAD_JSON")),  # no such time
        (room_id, {"delete_local_events": "yes", "purge_up_to_ts": 5}, None, (400, "M_BAD_JSON")),
        (room_id, [], None, (400, "M_BAD_JSON")),
        (room_id, {}, elsewhere, (400, "M_INVALID_PARAM")),  # "Event is for wrong room."
        (room_id, {"purge_up_to_event_id": f"$nothing:{hs.server_name}"}, None,
         (404, "M_NOT_FOUND")),
        (f"!nowhere:{hs.server_name}", {}, point, (404, "M_NOT_FOUND")),
    ):  # fmt: skip
        resp = await start(root, room, body, event_id=event_id)
        assert errcode(resp) == expected, (body, event_id, resp.text)
    assert errcode(await start(alice, room_id, {}, event_id=point)) == (403, "M_FORBIDDEN")
    unknown = await root.get(f"{ADMIN}/purge_history_status/nothing")
    assert errcode(unknown) == (404, "M_NOT_FOUND")
    resp = await start(root, room_id, {"delete_local_events": True}, event_id=point)
    purge_id = resp.json()["purge_id"]
    theirs = await alice.get(f"{ADMIN}/purge_history_status/{purge_id}")
    assert errcode(theirs) == (403, "M_FORBIDDEN")
    not_json = await root.post(
        f"{ADMIN}/purge_history/{quote(room_id, safe='')}", content=b"{purge"
    )
    assert errcode(not_json) == (400, "M_NOT_JSON")
    # Refusals of a well-formed request by an admin are audited as failed; nothing was purged.
    failed = [r for r in await audit(hs) if r[1] == "failure"]
    assert len(failed) == 3
    assert point in await event_ids_in_db(hs, room_id)
