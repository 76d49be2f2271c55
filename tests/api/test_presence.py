"""Presence: PUT/GET status, presence set by /sync, delivery to people sharing a room, expiry."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from bastion.clock import FakeClock
from bastion.config import DatabaseConfig, PresenceConfig
from bastion.services.presence.expiry import FLUSH_AFTER_MS
from tests.conftest import Homeserver, UserClient, errcode, make_config, start_homeserver


def presence_of(sync: dict[str, Any], user_id: str) -> list[dict[str, Any]]:
    """The contents of the m.presence events about `user_id` in a sync response."""
    events = sync["presence"]["events"]
    assert all(e["type"] == "m.presence" for e in events)
    return [e["content"] for e in events if e["sender"] == user_id]


async def status(client: UserClient, user_id: str) -> dict[str, Any]:
    resp = await client.get(f"/presence/{user_id}/status")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def put_status(client: UserClient, body: dict[str, Any]) -> None:
    resp = await client.put(f"/presence/{client.user_id}/status", json=body)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {}


async def ward(hs: Homeserver) -> tuple[UserClient, UserClient, UserClient, str]:
    """alice and bob share a room; carol shares none with them."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    return alice, bob, carol, room_id


async def stored_row(hs: Homeserver, user_id: str) -> Any:
    return await hs.runtime.db.fetch_one(
        "SELECT state, last_active_ts, stream_id FROM presence WHERE user_id = ?", user_id
    )


async def test_put_and_get_own_status(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    assert await status(alice, alice.user_id) == {"presence": "offline", "currently_active": False}
    await put_status(alice, {"presence": "online", "status_msg": "On the ward"})
    assert await status(alice, alice.user_id) == {
        "presence": "online",
        "currently_active": True,
        "last_active_ago": 0,
        "status_msg": "On the ward",
    }
    hs.clock.advance(42)
    assert (await status(alice, alice.user_id))["last_active_ago"] == 42_000
    # Setting the status again without a message clears it; only online is currently active.
    await put_status(alice, {"presence": "unavailable"})
    assert await status(alice, alice.user_id) == {
        "presence": "unavailable",
        "currently_active": False,
        "last_active_ago": 0,
    }


async def test_bad_bodies_and_someone_elses_status(hs: Homeserver) -> None:
    alice, bob, _carol, _room = await ward(hs)
    path = f"/presence/{alice.user_id}/status"
    resp = await alice.http.put(
        f"/_matrix/client/v3{path}", content=b"{nope", headers=alice._headers()
    )
    assert errcode(resp) == (400, "M_NOT_JSON")
    for body, expected in (
        ({}, (400, "M_BAD_JSON")),
        ({"presence": 1}, (400, "M_BAD_JSON")),
        ({"presence": "online", "status_msg": 7}, (400, "M_BAD_JSON")),
        ([], (400, "M_BAD_JSON")),
        ({"presence": "busy"}, (400, "M_INVALID_PARAM")),
        ({"presence": "online", "status_msg": "x" * 1025}, (400, "M_INVALID_PARAM")),
    ):
        assert errcode(await alice.put(path, json=body)) == expected, body
    assert errcode(await bob.put(path, json={"presence": "offline"})) == (403, "M_FORBIDDEN")
    # Nothing was stored by any of them.
    assert await status(bob, alice.user_id) == {"presence": "offline", "currently_active": False}


async def test_get_needs_a_shared_room(hs: Homeserver) -> None:
    alice, bob, carol, room_id = await ward(hs)
    await put_status(alice, {"presence": "online", "status_msg": "Theatre 2"})
    assert (await status(bob, alice.user_id))["status_msg"] == "Theatre 2"
    resp = await carol.get(f"/presence/{alice.user_id}/status")
    assert errcode(resp) == (403, "M_FORBIDDEN")
    resp = await carol.get(f"/presence/@nobody:{hs.server_name}/status")
    assert errcode(resp) == (404, "M_NOT_FOUND")
    await carol.join(room_id)
    assert (await status(carol, alice.user_id))["presence"] == "online"
    assert (await carol.post(f"/rooms/{room_id}/leave", json={})).status_code == 200
    assert errcode(await carol.get(f"/presence/{alice.user_id}/status")) == (403, "M_FORBIDDEN")


async def test_change_wakes_room_members_only(hs: Homeserver) -> None:
    alice, bob, carol, _room = await ward(hs)
    bob_token = (await bob.sync())["next_batch"]
    carol_token = (await carol.sync())["next_batch"]
    waiting_bob = asyncio.create_task(bob.sync(since=bob_token, timeout=30000))
    waiting_carol = asyncio.create_task(carol.sync(since=carol_token, timeout=30000))
    await hs.wait_for_waiting_syncs(2)
    await put_status(alice, {"presence": "unavailable", "status_msg": "In surgery"})
    woken = await asyncio.wait_for(waiting_bob, timeout=10)
    # A presence-only change ends the long-poll; it carries nothing else.
    assert woken["rooms"]["join"] == {}
    assert presence_of(woken, alice.user_id) == [
        {
            "presence": "unavailable",
            "currently_active": False,
            "last_active_ago": 0,
            "status_msg": "In surgery",
        }
    ]
    assert not waiting_carol.done()  # carol shares no room with alice: not woken
    waiting_carol.cancel()
    assert presence_of(await carol.sync(since=carol_token), alice.user_id) == []
    assert presence_of(await carol.sync(), alice.user_id) == []
    # Nothing changed since: the next sync of bob carries no presence.
    assert (await bob.sync(since=woken["next_batch"]))["presence"]["events"] == []


async def test_initial_sync_carries_live_presence_of_room_members_and_self(hs: Homeserver) -> None:
    alice, bob, carol, _room = await ward(hs)
    await put_status(alice, {"presence": "online", "status_msg": "Clinic"})
    await put_status(carol, {"presence": "online"})
    hs.clock.advance(3)
    sync = await bob.sync()
    assert presence_of(sync, alice.user_id) == [
        {"presence": "online", "currently_active": True, "last_active_ago": 3000,
         "status_msg": "Clinic"},
    ]  # fmt: skip
    assert presence_of(sync, bob.user_id)[0]["presence"] == "online"  # by syncing
    assert presence_of(sync, carol.user_id) == []
    # Offline users are left out of an initial sync.
    await put_status(alice, {"presence": "offline"})
    assert presence_of(await bob.sync(), alice.user_id) == []


async def test_set_presence_on_sync(hs: Homeserver) -> None:
    alice, bob, _carol, _room = await ward(hs)
    token = (await bob.sync(set_presence="offline"))["next_batch"]
    await alice.sync(set_presence="unavailable")
    assert (await status(alice, alice.user_id))["presence"] == "unavailable"
    sync = await bob.sync(since=token, set_presence="offline")
    assert [c["presence"] for c in presence_of(sync, alice.user_id)] == ["unavailable"]
    assert presence_of(sync, bob.user_id) == []  # bob's syncs said offline: he has no presence
    await alice.sync(set_presence="offline")  # changes nothing
    assert (await status(alice, alice.user_id))["presence"] == "unavailable"
    again = await bob.sync(since=sync["next_batch"], set_presence="offline")
    assert again["presence"]["events"] == []
    own = await alice.sync()  # the default is online; the user's own sync shows it at once
    assert presence_of(own, alice.user_id)[-1] == {
        "presence": "online",
        "currently_active": True,
        "last_active_ago": 0,
    }


async def test_syncing_again_writes_nothing_until_the_sweep_flushes(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    token = (await alice.sync())["next_batch"]
    first = await stored_row(hs, alice.user_id)
    assert first["state"] == "online"
    for _ in range(5):
        hs.clock.advance(10)
        token = (await alice.sync(since=token))["next_batch"]
    assert tuple(await stored_row(hs, alice.user_id)) == tuple(first)
    # In memory, alice's last activity moved on; GET shows it.
    assert (await status(alice, alice.user_id))["last_active_ago"] == 0
    hs.clock.advance(FLUSH_AFTER_MS / 1000)
    await alice.sync(since=token)
    assert await hs.runtime.services.presence.expire(hs.clock.now_ms()) == 0
    flushed = await stored_row(hs, alice.user_id)
    assert flushed["last_active_ts"] == hs.clock.now_ms()
    assert flushed["stream_id"] == first["stream_id"]  # no new position: nothing visible


async def test_expiry_online_then_unavailable_then_offline(hs: Homeserver) -> None:
    alice, bob, _carol, _room = await ward(hs)
    presence = hs.runtime.services.presence
    await put_status(alice, {"presence": "online"})
    # alice's client syncs without changing her presence: it counts as connected.
    await alice.sync(set_presence="offline")
    token = (await bob.sync(set_presence="offline"))["next_batch"]
    hs.clock.advance(61)
    await alice.sync(set_presence="offline")
    assert await presence.expire(hs.clock.now_ms()) == 1
    sync = await bob.sync(since=token, set_presence="offline")
    assert presence_of(sync, alice.user_id) == [
        {"presence": "online", "currently_active": False, "last_active_ago": 61_000}
    ]
    hs.clock.advance(240)  # 301 s without activity: idle
    await alice.sync(set_presence="offline")
    assert await presence.expire(hs.clock.now_ms()) == 1
    sync = await bob.sync(since=sync["next_batch"], set_presence="offline")
    assert [c["presence"] for c in presence_of(sync, alice.user_id)] == ["unavailable"]
    hs.clock.advance(30)  # not yet: 30 s is the limit, not past it
    assert await presence.expire(hs.clock.now_ms()) == 0
    hs.clock.advance(1)
    assert await presence.expire(hs.clock.now_ms()) == 1
    sync = await bob.sync(since=sync["next_batch"], set_presence="offline")
    assert [c["presence"] for c in presence_of(sync, alice.user_id)] == ["offline"]
    assert (await status(bob, alice.user_id))["presence"] == "offline"
    assert await presence.expire(hs.clock.now_ms()) == 0


async def test_a_sync_in_progress_keeps_its_user_online(hs: Homeserver) -> None:
    alice, bob, _carol, room_id = await ward(hs)
    presence = hs.runtime.services.presence
    token = (await alice.sync())["next_batch"]
    polling = asyncio.create_task(alice.sync(since=token, timeout=30000))
    await hs.wait_for_waiting_syncs(1)
    hs.clock.advance(45)
    assert await presence.expire(hs.clock.now_ms()) == 0
    assert (await status(bob, alice.user_id))["presence"] == "online"
    await bob.send_text(room_id, "ends alice's long-poll")
    await asyncio.wait_for(polling, timeout=10)
    hs.clock.advance(31)  # counted from the end of the last sync
    assert await presence.expire(hs.clock.now_ms()) == 1
    assert (await status(bob, alice.user_id))["presence"] == "offline"
    # Syncing again brings her back, and bob hears of it.
    bob_token = (await bob.sync(set_presence="offline"))["next_batch"]
    await alice.sync()
    sync = await bob.sync(since=bob_token, set_presence="offline")
    assert [c["presence"] for c in presence_of(sync, alice.user_id)] == ["online"]


async def test_joining_a_room_brings_its_members_presence(hs: Homeserver) -> None:
    alice, bob, carol, room_id = await ward(hs)
    await put_status(alice, {"presence": "online", "status_msg": "Pharmacy"})
    await put_status(bob, {"presence": "offline"})
    token = (await carol.sync(set_presence="offline"))["next_batch"]
    await carol.join(room_id)
    sync = await carol.sync(since=token, set_presence="offline")
    assert presence_of(sync, alice.user_id)[0]["status_msg"] == "Pharmacy"
    assert presence_of(sync, bob.user_id) == []  # offline: nothing to show


async def test_sync_filter_presence_section(hs: Homeserver) -> None:
    alice, bob, _carol, _room = await ward(hs)
    token = (await bob.sync(set_presence="offline"))["next_batch"]
    await put_status(alice, {"presence": "online"})
    for presence_filter, expected in (
        ({"not_types": ["m.presence"]}, []),
        ({"types": ["m.*"]}, [alice.user_id]),
        ({"senders": [bob.user_id]}, []),
        ({"not_senders": [alice.user_id]}, []),
        ({"limit": 1}, [alice.user_id]),
    ):
        query = {"filter": json.dumps({"presence": presence_filter}), "set_presence": "offline"}
        sync = await bob.sync(since=token, **query)
        assert [e["sender"] for e in sync["presence"]["events"]] == expected, presence_filter


async def test_restart_times_out_users_seen_only_before_it(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    clock = FakeClock()
    config = make_config(tmp_path, database_config)
    runtime, http = await start_homeserver(config, clock)
    try:
        hs = Homeserver(runtime, http, clock)
        alice = await hs.register_user("alice")
        await alice.sync()
    finally:
        await http.aclose()
        await runtime.close()
    runtime, http = await start_homeserver(config, clock)
    try:
        presence = runtime.services.presence
        clock.advance(31)
        # The stored timestamps may lag a minute behind a live process: wait for that lag too.
        assert await presence.expire(clock.now_ms()) == 0
        clock.advance(FLUSH_AFTER_MS / 1000 + config.presence.expiry_interval_seconds)
        assert await presence.expire(clock.now_ms()) == 1
        row = await runtime.db.fetch_one("SELECT state FROM presence")
        assert row is not None
        assert row[0] == "offline"
    finally:
        await http.aclose()
        await runtime.close()


@pytest.mark.parametrize("config_overrides", [{"presence": PresenceConfig(enabled=False)}])
async def test_disabled_presence_stores_and_shows_nothing(hs: Homeserver) -> None:
    alice, bob, carol, _room = await ward(hs)
    token = (await bob.sync())["next_batch"]
    await put_status(alice, {"presence": "online", "status_msg": "Not shown"})
    assert errcode(await alice.put(f"/presence/{alice.user_id}/status", json={})) == (
        400,
        "M_BAD_JSON",
    )
    await alice.sync()
    assert await status(alice, alice.user_id) == {"presence": "offline"}
    assert await status(bob, alice.user_id) == {"presence": "offline"}
    assert errcode(await carol.get(f"/presence/{alice.user_id}/status")) == (403, "M_FORBIDDEN")
    assert (await bob.sync(since=token))["presence"]["events"] == []
    assert (await bob.sync())["presence"]["events"] == []
    hs.clock.advance(3600)
    assert await hs.runtime.services.presence.expire(hs.clock.now_ms()) == 0
    assert await hs.runtime.db.fetch_val("SELECT COUNT(*) FROM presence") == 0


async def test_sending_a_message_is_activity(hs: Homeserver) -> None:
    alice, bob, _carol, room_id = await ward(hs)
    await put_status(alice, {"presence": "unavailable", "status_msg": "at lunch"})
    token = (await bob.sync())["next_batch"]
    hs.clock.advance(30)
    assert (await status(bob, alice.user_id))["last_active_ago"] == 30_000
    await alice.send_text(room_id, "back")
    seen = await status(bob, alice.user_id)
    assert seen == {
        "presence": "online", "currently_active": True, "last_active_ago": 0,
        "status_msg": "at lunch",
    }  # fmt: skip
    news = presence_of(await bob.sync(since=token), alice.user_id)
    assert news[-1]["presence"] == "online"
    # Someone who chose to appear offline stays offline when they send.
    await put_status(alice, {"presence": "offline"})
    hs.clock.advance(5)
    await alice.send_text(room_id, "quietly")
    seen = await status(bob, alice.user_id)
    assert seen["presence"] == "offline"
