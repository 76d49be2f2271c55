"""Synapse's media admin API (services/media/admin.py, docs/admin-api.md#media): quarantine takes a
file out of reach for everyone (downloads and thumbnails 404, the same bytes refused at upload)
and keeps its bytes; deletion removes it, unless a legal hold needs it. Synapse's docs:
"Quarantining media means that it is marked as inaccessible by users", "[it] will return a 404
error when downloaded"; deletion answers `{"deleted_media": [...], "total": n}`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.api.compliance.retention_helpers import place_hold
from tests.api.test_media import bearer, download, image_bytes, stored_files, upload, upload_raw
from tests.conftest import Homeserver, UserClient, errcode

ADMIN = "/_synapse/admin/v1"


async def admin_call(hs: Homeserver, admin: UserClient, method: str, path: str) -> httpx.Response:
    return await hs.http.request(method, ADMIN + path, headers=bearer(admin))


async def audit(hs: Homeserver, action: str) -> list[dict[str, Any]]:
    rows = await hs.runtime.db.fetch_all(
        "SELECT actor, target, details FROM audit_log WHERE action = ? ORDER BY seq", action
    )
    return [{"actor": r[0], "target": r[1], "details": json.loads(r[2])} for r in rows]


async def send_file(user: UserClient, room_id: str, uri: str, txn: str) -> str:
    resp = await user.put(
        f"/rooms/{room_id}/send/m.room.message/{txn}",
        json={"msgtype": "m.image", "body": "scan.png", "url": uri},
    )
    assert resp.status_code == 200, resp.text
    event_id: str = resp.json()["event_id"]
    return event_id


async def test_a_quarantined_file_is_out_of_reach_and_cannot_be_shared_again(
    hs: Homeserver,
) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    letter = image_bytes((64, 64))
    first = await upload(hs, alice, letter, "image/png", filename="patient.png")
    copy = await upload(hs, bob, letter, "image/png")  # the same bytes, shared again
    other = await upload(hs, alice, b"harmless", "text/plain")

    resp = await admin_call(hs, root, "POST", f"/media/quarantine/{hs.server_name}/{first}")
    assert (resp.status_code, resp.json()) == (200, {})

    for media_id in (first, copy):
        assert errcode(await download(hs, bob, media_id)) == (404, "M_NOT_FOUND")
        assert errcode(await download(hs, root, media_id)) == (404, "M_NOT_FOUND")
    thumbnail = await hs.http.get(
        f"/_matrix/client/v1/media/thumbnail/{hs.server_name}/{first}",
        params={"width": "32", "height": "32"},
        headers=bearer(bob),
    )
    assert errcode(thumbnail) == (404, "M_NOT_FOUND")
    assert (await download(hs, bob, other)).content == b"harmless"
    # The same bytes cannot come back, by either upload path.
    assert errcode(await upload_raw(hs, bob, letter, "image/png")) == (403, "M_FORBIDDEN")
    reserved = await hs.http.post("/_matrix/media/v1/create", headers=bearer(bob))
    media_id = reserved.json()["content_uri"].rsplit("/", 1)[1]
    put = await hs.http.put(
        f"/_matrix/media/v3/upload/{hs.server_name}/{media_id}",
        content=letter,
        headers={**bearer(bob), "Content-Type": "image/png"},
    )
    assert errcode(put) == (403, "M_FORBIDDEN")
    # What an admin sees.
    info = (await admin_call(hs, root, "GET", f"/media/{hs.server_name}/{first}")).json()
    assert info["media_info"]["quarantined_by"] == root.user_id
    assert info["media_info"]["upload_name"] == "patient.png"
    assert info["media_info"]["user_id"] == alice.user_id
    listed = (await admin_call(hs, root, "GET", f"/users/{alice.user_id}/media")).json()
    by_id = {m["media_id"]: m["quarantined_by"] for m in listed["media"]}
    assert by_id == {first: root.user_id, other: None}
    (record,) = await audit(hs, "media.quarantine")
    assert record["actor"] == root.user_id
    assert record["details"]["files"] == 2
    assert sorted(record["details"]["media_ids"]) == sorted([first, copy])

    # Released: that file only.
    resp = await admin_call(hs, root, "POST", f"/media/unquarantine/{hs.server_name}/{first}")
    assert (resp.status_code, resp.json()) == (200, {})
    assert (await download(hs, bob, first)).content == letter
    thumbnail = await hs.http.get(
        f"/_matrix/client/v1/media/thumbnail/{hs.server_name}/{first}",
        params={"width": "32", "height": "32"},
        headers=bearer(bob),
    )
    assert thumbnail.status_code == 200
    assert errcode(await download(hs, bob, copy)) == (404, "M_NOT_FOUND")
    assert [r["target"] for r in await audit(hs, "media.unquarantine")] == [first]


async def test_a_rooms_files_are_found_and_quarantined_even_after_a_redaction(
    hs: Homeserver,
) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    shown = await upload(hs, alice, b"shown", "text/plain")
    removed = await upload(hs, alice, b"removed", "text/plain")
    elsewhere = await upload(hs, alice, b"elsewhere", "text/plain")
    await send_file(alice, room_id, f"mxc://{hs.server_name}/{shown}", "t1")
    redacted = await send_file(alice, room_id, f"mxc://{hs.server_name}/{removed}", "t2")
    await send_file(alice, room_id, "mxc://other.example/remoteFile", "t3")
    resp = await alice.put(f"/rooms/{room_id}/redact/{redacted}/r1", json={})
    assert resp.status_code == 200

    listed = (await admin_call(hs, root, "GET", f"/room/{room_id}/media")).json()
    assert listed == {
        "local": sorted(f"mxc://{hs.server_name}/{m}" for m in (shown, removed)),
        "remote": ["mxc://other.example/remoteFile"],
    }
    resp = await admin_call(hs, root, "POST", f"/room/{room_id}/media/quarantine")
    assert resp.json() == {"num_quarantined": 2}
    for media_id in (shown, removed):
        assert errcode(await download(hs, bob, media_id)) == (404, "M_NOT_FOUND")
    assert (await download(hs, bob, elsewhere)).content == b"elsewhere"
    again = await admin_call(hs, root, "POST", f"/quarantine_media/{room_id}")  # legacy path
    assert again.json() == {"num_quarantined": 0}  # nothing left to change
    assert len(await audit(hs, "media.quarantine")) == 1  # a no-op is not recorded
    missing = await admin_call(hs, root, "GET", f"/room/!nowhere:{hs.server_name}/media")
    assert errcode(missing) == (404, "M_NOT_FOUND")


async def test_a_users_uploads_are_quarantined_together(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    alices = [await upload(hs, alice, f"file {n}".encode(), "text/plain") for n in range(3)]
    bobs = await upload(hs, bob, b"bob's", "text/plain")
    resp = await admin_call(hs, root, "POST", f"/user/{alice.user_id}/media/quarantine")
    assert resp.json() == {"num_quarantined": 3}
    for media_id in alices:
        assert errcode(await download(hs, bob, media_id)) == (404, "M_NOT_FOUND")
    assert (await download(hs, alice, bobs)).content == b"bob's"
    unknown = await admin_call(hs, root, "POST", f"/user/@ghost:{hs.server_name}/media/quarantine")
    assert errcode(unknown) == (404, "M_NOT_FOUND")


async def test_deletion_removes_the_file_unless_a_legal_hold_needs_it(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    carol = await hs.register_user("carol")
    room_id = await alice.create_room(preset="public_chat")
    loose = await upload(hs, alice, b"loose", "text/plain")
    evidence = await upload(hs, alice, b"evidence", "text/plain")
    await send_file(alice, room_id, f"mxc://{hs.server_name}/{evidence}", "t1")
    carols = await upload(hs, carol, b"carol's", "text/plain")
    media_root = hs.runtime.config.media.store_path

    resp = await admin_call(hs, root, "DELETE", f"/media/{hs.server_name}/{loose}")
    assert resp.json() == {"deleted_media": [loose], "total": 1}
    assert errcode(await download(hs, alice, loose)) == (404, "M_NOT_FOUND")
    assert not [p for p in stored_files(Path(media_root)) if loose in p.name]
    again = await admin_call(hs, root, "DELETE", f"/media/{hs.server_name}/{loose}")
    assert errcode(again) == (404, "M_NOT_FOUND")
    (record,) = await audit(hs, "media.delete")
    assert (record["actor"], record["target"]) == (root.user_id, f"mxc://{hs.server_name}/{loose}")

    # A hold on the room whose message names the file, or on the file's uploader.
    await place_hold(root, rooms=[room_id])
    await place_hold(root, users=[carol.user_id], case="case-2")
    for media_id in (evidence, carols):
        held = await admin_call(hs, root, "DELETE", f"/media/{hs.server_name}/{media_id}")
        assert errcode(held) == (403, "M_FORBIDDEN")
        assert (await download(hs, alice, media_id)).status_code == 200
    # Quarantine is the way to take a held file out of reach.
    resp = await admin_call(hs, root, "POST", f"/media/quarantine/{hs.server_name}/{evidence}")
    assert resp.status_code == 200
    assert errcode(await download(hs, alice, evidence)) == (404, "M_NOT_FOUND")


async def test_only_admins_and_only_this_servers_files(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    media_id = await upload(hs, alice, b"mine", "text/plain")
    room_id = await alice.create_room()
    for method, path in (
        ("GET", f"/media/{hs.server_name}/{media_id}"),
        ("POST", f"/media/quarantine/{hs.server_name}/{media_id}"),
        ("POST", f"/media/unquarantine/{hs.server_name}/{media_id}"),
        ("DELETE", f"/media/{hs.server_name}/{media_id}"),
        ("GET", f"/room/{room_id}/media"),
        ("POST", f"/room/{room_id}/media/quarantine"),
        ("POST", f"/user/{alice.user_id}/media/quarantine"),
    ):
        assert errcode(await admin_call(hs, alice, method, path)) == (403, "M_FORBIDDEN")
    assert (await download(hs, alice, media_id)).content == b"mine"
    assert len(await audit(hs, "admin.denied")) == 7
    for path in (f"/media/other.example/{media_id}", f"/media/{hs.server_name}/no-such-file"):
        assert errcode(await admin_call(hs, root, "GET", path)) == (404, "M_NOT_FOUND")
    bad = await admin_call(hs, root, "POST", f"/media/quarantine/{hs.server_name}/bad%2Fid")
    assert bad.status_code == 404
