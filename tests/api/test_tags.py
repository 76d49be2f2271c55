"""Room tags: GET/PUT/DELETE /user/{userId}/rooms/{roomId}/tags, stored as m.tag account data."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import Homeserver, errcode


def room_account_data(sync: dict[str, Any], room_id: str) -> list[dict[str, Any]]:
    room = sync["rooms"]["join"].get(room_id)
    return [] if room is None else list(room["account_data"]["events"])


async def test_tags_round_trip_and_reach_sync(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(name="Team")
    base = f"/user/{alice.user_id}/rooms/{room_id}/tags"
    token = (await alice.sync())["next_batch"]

    assert (await alice.get(base)).json() == {"tags": {}}
    assert (await alice.put(f"{base}/m.favourite", json={"order": 0.25})).status_code == 200
    assert (await alice.put(f"{base}/u.work", json={})).status_code == 200
    expected = {"m.favourite": {"order": 0.25}, "u.work": {}}
    assert (await alice.get(base)).json() == {"tags": expected}

    # The same entry is the room's m.tag account data, and an incremental sync carries it.
    data = await alice.get(f"/user/{alice.user_id}/rooms/{room_id}/account_data/m.tag")
    assert data.json() == {"tags": expected}
    synced = await alice.sync(since=token)
    assert room_account_data(synced, room_id) == [{"type": "m.tag", "content": {"tags": expected}}]

    # Replacing a tag's order, then removing one.
    assert (await alice.put(f"{base}/m.favourite", json={"order": 1})).status_code == 200
    assert (await alice.delete(f"{base}/u.work")).status_code == 200
    assert (await alice.get(base)).json() == {"tags": {"m.favourite": {"order": 1}}}
    again = await alice.sync(since=synced["next_batch"])
    assert room_account_data(again, room_id) == [
        {"type": "m.tag", "content": {"tags": {"m.favourite": {"order": 1}}}}
    ]
    # Deleting a tag that is not there succeeds and changes nothing (no new sync data).
    assert (await alice.delete(f"{base}/u.never")).status_code == 200
    quiet = await alice.sync(since=again["next_batch"])
    assert room_account_data(quiet, room_id) == []

    # An initial sync shows the tags too.
    assert room_account_data(await alice.sync(), room_id) == [
        {"type": "m.tag", "content": {"tags": {"m.favourite": {"order": 1}}}}
    ]


async def test_tags_are_private_to_their_owner(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    base = f"/user/{alice.user_id}/rooms/{room_id}/tags"
    await alice.put(f"{base}/m.favourite", json={"order": 0.5})
    token = (await bob.sync())["next_batch"]

    assert errcode(await bob.get(base)) == (403, "M_FORBIDDEN")
    assert errcode(await bob.put(f"{base}/m.lowpriority", json={})) == (403, "M_FORBIDDEN")
    assert errcode(await bob.delete(f"{base}/m.favourite")) == (403, "M_FORBIDDEN")
    assert (await alice.get(base)).json() == {"tags": {"m.favourite": {"order": 0.5}}}
    # Bob's own view of the room has no tags, and his sync never sees alice's.
    assert (await bob.get(f"/user/{bob.user_id}/rooms/{room_id}/tags")).json() == {"tags": {}}
    await alice.put(f"{base}/u.later", json={})
    assert room_account_data(await bob.sync(since=token), room_id) == []
    assert room_account_data(await bob.sync(), room_id) == []
    resp = await hs.http.get(f"/_matrix/client/v3{base}")
    assert errcode(resp) == (401, "M_MISSING_TOKEN")


async def test_invalid_tags_are_refused(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    base = f"/user/{alice.user_id}/rooms/{room_id}/tags"

    assert errcode(await alice.put(f"{base}/u.x", json={"order": 1.5})) == (400, "M_INVALID_PARAM")
    assert errcode(await alice.put(f"{base}/u.x", json={"order": -0.1})) == (400, "M_INVALID_PARAM")
    assert errcode(await alice.put(f"{base}/u.x", json={"order": "1"})) == (400, "M_BAD_JSON")
    assert errcode(await alice.put(f"{base}/u.x", json={"order": True})) == (400, "M_BAD_JSON")
    assert errcode(await alice.put(f"{base}/u.x", json=[1])) == (400, "M_BAD_JSON")
    long_name = "u." + "ż" * 127  # 2 + 254 bytes of UTF-8
    assert errcode(await alice.put(f"{base}/{long_name}", json={})) == (400, "M_INVALID_PARAM")
    just_fits = "u." + "ż" * 126 + "a"  # 255 bytes
    assert (await alice.put(f"{base}/{just_fits}", json={})).status_code == 200
    bad_room = f"/user/{alice.user_id}/rooms/not-a-room/tags"
    assert errcode(await alice.put(f"{bad_room}/u.x", json={})) == (400, "M_INVALID_PARAM")
    assert errcode(await alice.get(bad_room)) == (400, "M_INVALID_PARAM")
    # Nothing refused was stored.
    assert (await alice.get(base)).json() == {"tags": {just_fits: {}}}


async def test_concurrent_tag_changes_are_all_kept(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    base = f"/user/{alice.user_id}/rooms/{room_id}/tags"

    results = await asyncio.gather(*(alice.put(f"{base}/u.t{i}", json={}) for i in range(10)))
    assert all(r.status_code == 200 for r in results)
    tags = (await alice.get(base)).json()["tags"]
    assert set(tags) == {f"u.t{i}" for i in range(10)}
