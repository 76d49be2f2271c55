"""Offboarding with `erase: true` deletes the leaver's uploaded files too (step `files`,
services/media/erasure.py): a file nothing stored names any more once their messages are erased
is gone (row, bytes, thumbnails); one an event still names is kept and counted: a room avatar
they set (rooms stand on their state), someone else's message that forwarded it, and anything a
legal hold keeps. Without `erase` nothing is deleted."""

from __future__ import annotations

from pathlib import Path

from tests.api.admin.test_offboarding import OPERATOR
from tests.api.compliance.retention_helpers import place_hold
from tests.api.test_media import download, image_bytes, stored_files, upload
from tests.conftest import Homeserver, UserClient, errcode


async def share(user: UserClient, room_id: str, media_id: str, server: str, txn: str) -> None:
    resp = await user.put(
        f"/rooms/{room_id}/send/m.room.message/{txn}",
        json={"msgtype": "m.image", "body": "x.png", "url": f"mxc://{server}/{media_id}"},
    )
    assert resp.status_code == 200, resp.text


def files_named(hs: Homeserver, media_id: str) -> list[Path]:
    return [p for p in stored_files(Path(hs.runtime.config.media.store_path)) if media_id in str(p)]


async def test_erasing_deletes_the_files_nothing_names_any_more(hs: Homeserver) -> None:
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room = await carol.create_room(preset="public_chat")
    await bob.join(room)
    server = hs.server_name
    photo = await upload(hs, bob, image_bytes((64, 64)), "image/png")
    thumb = await hs.http.get(
        f"/_matrix/client/v1/media/thumbnail/{server}/{photo}",
        params={"width": "32", "height": "32"},
        headers={"Authorization": f"Bearer {carol.token}"},
    )
    assert thumb.status_code == 200
    await share(bob, room, photo, server, "p1")
    never_sent = await upload(hs, bob, b"a draft", "text/plain")
    forwarded = await upload(hs, bob, b"forwarded by carol", "text/plain")
    await share(bob, room, forwarded, server, "f1")
    await share(carol, room, forwarded, server, "f2")  # carol's message names it too
    avatar = await upload(hs, bob, image_bytes((16, 16)), "image/png")
    own_room = await bob.create_room(preset="public_chat")
    resp = await bob.put(
        f"/rooms/{own_room}/state/m.room.avatar/", json={"url": f"mxc://{server}/{avatar}"}
    )
    assert resp.status_code == 200
    assert len(files_named(hs, photo)) == 2  # the original and its thumbnail

    report = await hs.runtime.services.offboarding.offboard(OPERATOR, bob.user_id, erase=True)

    assert (report.files_deleted, report.files_kept) == (2, 2)
    for media_id in (photo, never_sent):
        assert errcode(await download(hs, carol, media_id)) == (404, "M_NOT_FOUND")
        assert files_named(hs, media_id) == []
    for media_id in (forwarded, avatar):
        assert (await download(hs, carol, media_id)).status_code == 200
    jobs = await hs.runtime.db.fetch_all(
        "SELECT details FROM audit_log WHERE action = 'user.offboard'"
    )
    assert '"files_deleted":2' in jobs[0][0].replace(" ", "")


async def test_a_legal_hold_keeps_the_files_and_no_erase_deletes_nothing(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    bob = await hs.register_user("bob")
    dave = await hs.register_user("dave")
    carol = await hs.register_user("carol")
    room = await carol.create_room(preset="public_chat")
    for user in (bob, dave):
        await user.join(room)
    held = await upload(hs, bob, b"evidence", "text/plain")
    await share(bob, room, held, hs.server_name, "h1")
    await place_hold(root, users=[bob.user_id])
    kept = await upload(hs, dave, b"dave's", "text/plain")

    report = await hs.runtime.services.offboarding.offboard(OPERATOR, bob.user_id, erase=True)
    assert (report.events_held, report.files_deleted, report.files_kept) == (1, 0, 1)
    assert (await download(hs, carol, held)).status_code == 200

    plain = await hs.runtime.services.offboarding.offboard(OPERATOR, dave.user_id)
    assert (plain.files_deleted, plain.files_kept) == (0, 0)  # the step does not run
    assert (await download(hs, carol, kept)).status_code == 200
