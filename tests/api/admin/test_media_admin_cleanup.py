"""The rest of Synapse's media admin API (services/media/admin.py, docs/admin-api.md#media):
protection from quarantine, deleting files unused since a date, deleting a user's files, and an
admin opening a quarantined file on purpose.

Synapse's docs: protection "protects a single piece of local media from being quarantined";
deletion by date removes "Files that were last used before this timestamp ... It is the timestamp
of last access, not the timestamp when the file was created", larger than `size_gt`, keeping
"files that are still used in image data (e.g user profile, room avatar)" unless
`keep_profiles=false`; a user's media is deleted with "the same parameters as List media uploaded
by a user"; "Admins can bypass this by adding `?admin_unsafely_bypass_quarantine=true`",
"Non-admin users cannot bypass quarantine checks". Bastion adds: a file a legal hold needs is
never deleted by any of them, and everything is audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.api.admin.test_media_admin import admin_call, audit, send_file
from tests.api.compliance.retention_helpers import place_hold
from tests.api.test_media import bearer, download, stored_files, upload
from tests.conftest import Homeserver, UserClient, errcode

DAY_MS = 24 * 60 * 60 * 1000
BYPASS = "admin_unsafely_bypass_quarantine"


def on_disk(hs: Homeserver, media_id: str) -> bool:
    root = Path(hs.runtime.config.media.store_path)
    return any(media_id in path.name for path in stored_files(root))


async def info(hs: Homeserver, admin: UserClient, media_id: str) -> dict[str, object]:
    resp = await admin_call(hs, admin, "GET", f"/media/{hs.server_name}/{media_id}")
    assert resp.status_code == 200, resp.text
    media: dict[str, object] = resp.json()["media_info"]
    return media


async def set_avatar(hs: Homeserver, user: UserClient, path: str, key: str, media_id: str) -> None:
    uri = f"mxc://{hs.server_name}/{media_id}"
    resp = await user.put(path.format(user=user.user_id), json={key: uri})
    assert resp.status_code == 200, resp.text


async def test_a_protected_file_is_passed_over_by_every_quarantine(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    sticker = await upload(hs, alice, b"the company logo", "image/png")
    offensive = await upload(hs, alice, b"offensive", "image/png")
    for number, media_id in enumerate((sticker, offensive)):
        await send_file(alice, room_id, f"mxc://{hs.server_name}/{media_id}", f"t{number}")

    resp = await admin_call(hs, root, "POST", f"/media/protect/{sticker}")
    assert (resp.status_code, resp.json()) == (200, {})
    assert (await info(hs, root, sticker))["safe_from_quarantine"] is True
    assert (await info(hs, root, offensive))["safe_from_quarantine"] is False
    listed = (await admin_call(hs, root, "GET", f"/users/{alice.user_id}/media")).json()
    assert {m["media_id"]: m["safe_from_quarantine"] for m in listed["media"]} == {
        sticker: True,
        offensive: False,
    }

    # The room's files, the user's files, the file itself, a copy of its bytes: all pass it over.
    resp = await admin_call(hs, root, "POST", f"/room/{room_id}/media/quarantine")
    assert resp.json() == {"num_quarantined": 1}
    resp = await admin_call(hs, root, "POST", f"/user/{alice.user_id}/media/quarantine")
    assert resp.json() == {"num_quarantined": 0}
    resp = await admin_call(hs, root, "POST", f"/media/quarantine/{hs.server_name}/{sticker}")
    assert resp.status_code == 200
    copy = await upload(hs, bob, b"the company logo", "image/png")
    resp = await admin_call(hs, root, "POST", f"/media/quarantine/{hs.server_name}/{copy}")
    assert resp.status_code == 200
    assert (await download(hs, bob, sticker)).content == b"the company logo"
    assert errcode(await download(hs, bob, copy)) == (404, "M_NOT_FOUND")
    assert errcode(await download(hs, bob, offensive)) == (404, "M_NOT_FOUND")

    # Unprotected, it can be quarantined again.
    resp = await admin_call(hs, root, "POST", f"/media/unprotect/{sticker}")
    assert (resp.status_code, resp.json()) == (200, {})
    resp = await admin_call(hs, root, "POST", f"/media/quarantine/{hs.server_name}/{sticker}")
    assert resp.status_code == 200
    assert errcode(await download(hs, bob, sticker)) == (404, "M_NOT_FOUND")
    assert [r["target"] for r in await audit(hs, "media.protect")] == [sticker]
    assert [r["target"] for r in await audit(hs, "media.unprotect")] == [sticker]
    # Asking again changes nothing and records nothing.
    await admin_call(hs, root, "POST", f"/media/unprotect/{sticker}")
    assert len(await audit(hs, "media.unprotect")) == 1
    unknown = await admin_call(hs, root, "POST", "/media/protect/nosuchfile")
    assert errcode(unknown) == (404, "M_NOT_FOUND")


async def test_deleting_by_date_removes_only_what_nobody_uses(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    held_room = await alice.create_room()
    avatar_room = await alice.create_room()
    big = b"x" * 200
    files = {}
    for name in ("stale", "small", "still_read", "profile", "room_avatar", "evidence", "q", "p"):
        data = b"tiny" if name == "small" else big + name.encode()
        files[name] = await upload(hs, alice, data, "image/png")
    stale, small, still_read, profile, room_avatar, evidence, quarantined, protected = (
        files.values()
    )
    await set_avatar(hs, alice, "/profile/{user}/avatar_url", "avatar_url", profile)
    bob = await hs.register_user("bob")  # in no room: only his profile names his avatar
    bobs_avatar = await upload(hs, bob, big + b"b", "image/png")
    await set_avatar(hs, bob, "/profile/{user}/avatar_url", "avatar_url", bobs_avatar)
    await set_avatar(hs, alice, f"/rooms/{avatar_room}/state/m.room.avatar", "url", room_avatar)
    await send_file(alice, held_room, f"mxc://{hs.server_name}/{evidence}", "e1")
    await place_hold(root, rooms=[held_room])
    await admin_call(hs, root, "POST", f"/media/quarantine/{hs.server_name}/{quarantined}")
    await admin_call(hs, root, "POST", f"/media/protect/{protected}")
    uploaded_at = hs.clock.now_ms()

    hs.clock.advance(10 * DAY_MS // 1000)
    assert (await download(hs, alice, still_read)).status_code == 200
    assert (await info(hs, root, still_read))["last_access_ts"] == hs.clock.now_ms()
    assert (await info(hs, root, stale))["last_access_ts"] is None
    fresh = await upload(hs, alice, big + b"f", "text/plain")
    cutoff = uploaded_at + DAY_MS

    resp = await admin_call(hs, root, "POST", f"/media/delete?before_ts={cutoff}&size_gt=100")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"deleted_media": [stale], "total": 1}
    assert errcode(await download(hs, alice, stale)) == (404, "M_NOT_FOUND")
    assert not on_disk(hs, stale)
    # (Looked at as an admin: a download would count as a use.)
    kept_files = (small, still_read, profile, bobs_avatar, room_avatar, evidence, protected)
    for kept in (*kept_files, fresh, quarantined):
        assert (await info(hs, root, kept))["media_id"] == kept
        assert on_disk(hs, kept), kept  # quarantined files too: kept for a hold or an export
    (record,) = await audit(hs, "media.delete")
    assert record["actor"] == root.user_id
    assert record["details"]["before_ts"] == str(cutoff)
    assert record["details"]["media_ids"] == [stale]
    assert record["details"]["uploaders"] == [alice.user_id]

    # Without keep_profiles, the avatars go too (and the small file, with no size_gt);
    # what a hold needs stays, by the deprecated path as well: the evidence, and alice's profile
    # avatar, which her membership in the held room names.
    path = f"/media/{hs.server_name}/delete?before_ts={cutoff}&keep_profiles=false"
    resp = await admin_call(hs, root, "POST", path)
    assert resp.status_code == 200, resp.text
    assert sorted(resp.json()["deleted_media"]) == sorted([small, room_avatar, bobs_avatar])
    assert resp.json()["total"] == 3
    assert (await download(hs, alice, evidence)).status_code == 200
    assert on_disk(hs, evidence)
    assert on_disk(hs, profile)
    # A file downloaded since the cut-off counts as used.
    assert (await download(hs, alice, protected)).status_code == 200
    await admin_call(hs, root, "POST", f"/media/unprotect/{protected}")
    resp = await admin_call(hs, root, "POST", f"/media/delete?before_ts={cutoff}")
    assert resp.json() == {"deleted_media": [], "total": 0}


async def test_deletion_by_date_refuses_what_would_be_a_mistake(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    media_id = await upload(hs, alice, b"keep me", "text/plain")
    now = hs.clock.now_ms()
    for query, expected in (
        ("", (400, "M_MISSING_PARAM")),
        ("?before_ts=soon", (400, "M_INVALID_PARAM")),
        ("?before_ts=-5", (400, "M_INVALID_PARAM")),
        (f"?before_ts={now // 1000}", (400, "M_INVALID_PARAM")),  # seconds, not milliseconds
        (f"?before_ts={now * 1000}", (400, "M_INVALID_PARAM")),  # microseconds: everything
        (f"?before_ts={now}&size_gt=big", (400, "M_INVALID_PARAM")),
        (f"?before_ts={now}&keep_profiles=perhaps", (400, "M_INVALID_PARAM")),
    ):
        resp = await admin_call(hs, root, "POST", f"/media/delete{query}")
        assert errcode(resp) == expected, query
    other = await admin_call(hs, root, "POST", f"/media/other.example/delete?before_ts={now}")
    assert errcode(other) == (400, "M_INVALID_PARAM")
    assert (await download(hs, alice, media_id)).content == b"keep me"
    assert await audit(hs, "media.delete") == []


async def test_deleting_a_users_media_takes_the_listed_page_but_not_held_files(
    hs: Homeserver,
) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    carol = await hs.register_user("carol")
    uploads = []
    for number in range(3):
        uploads.append(await upload(hs, alice, f"file {number}".encode(), "text/plain"))
        hs.clock.advance(1000)
    carols = await upload(hs, carol, b"carol's", "text/plain")

    # Newest first, two at a time: the two newest go.
    resp = await admin_call(hs, root, "DELETE", f"/users/{alice.user_id}/media?limit=2")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"deleted_media": [uploads[2], uploads[1]], "total": 2}
    listed = (await admin_call(hs, root, "GET", f"/users/{alice.user_id}/media")).json()
    assert [m["media_id"] for m in listed["media"]] == [uploads[0]]
    assert not on_disk(hs, uploads[2])
    (record,) = await audit(hs, "media.delete")
    assert (record["target"], record["details"]["files"]) == (alice.user_id, 2)

    # A hold on carol keeps her files, whatever the admin asks.
    await place_hold(root, users=[carol.user_id])
    resp = await admin_call(hs, root, "DELETE", f"/users/{carol.user_id}/media")
    assert resp.json() == {"deleted_media": [], "total": 0}
    assert (await download(hs, carol, carols)).content == b"carol's"
    unknown = await admin_call(hs, root, "DELETE", "/users/@nobody:test/media")
    assert errcode(unknown) == (404, "M_NOT_FOUND")
    bad = await admin_call(hs, root, "DELETE", f"/users/{alice.user_id}/media?dir=up")
    assert errcode(bad) == (400, "M_INVALID_PARAM")
    assert (await download(hs, alice, uploads[0])).status_code == 200


async def test_only_an_admin_can_open_a_quarantined_file_and_it_is_audited(
    hs: Homeserver,
) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    media_id = await upload(hs, alice, b"the evidence", "image/png", filename="scan.png")
    plain = await upload(hs, alice, b"ordinary", "text/plain")
    await admin_call(hs, root, "POST", f"/media/quarantine/{hs.server_name}/{media_id}")
    url = f"/_matrix/client/v1/media/download/{hs.server_name}/{media_id}"

    assert errcode(await hs.http.get(url, headers=bearer(root))) == (404, "M_NOT_FOUND")
    opened = await hs.http.get(url, params={BYPASS: "true"}, headers=bearer(root))
    assert (opened.status_code, opened.content) == (200, b"the evidence")
    assert "scan.png" in opened.headers["content-disposition"]
    (record,) = await audit(hs, "media.bypass_quarantine")
    assert (record["actor"], record["target"]) == (root.user_id, media_id)
    # Anyone else's parameter is ignored.
    refused = await hs.http.get(url, params={BYPASS: "true"}, headers=bearer(alice))
    assert errcode(refused) == (404, "M_NOT_FOUND")
    assert errcode(await hs.http.get(url, params={BYPASS: "yes"}, headers=bearer(root))) == (
        404,
        "M_NOT_FOUND",
    )
    # A file not quarantined opens as usual, unaudited; an unknown one is 404.
    ordinary = f"/_matrix/client/v1/media/download/{hs.server_name}/{plain}"
    resp = await hs.http.get(ordinary, params={BYPASS: "true"}, headers=bearer(root))
    assert resp.content == b"ordinary"
    assert len(await audit(hs, "media.bypass_quarantine")) == 1
    missing = f"/_matrix/client/v1/media/download/{hs.server_name}/nosuchfile"
    resp = await hs.http.get(missing, params={BYPASS: "true"}, headers=bearer(root))
    assert errcode(resp) == (404, "M_NOT_FOUND")


async def test_the_new_endpoints_refuse_non_admins(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    media_id = await upload(hs, alice, b"mine", "text/plain")
    now = hs.clock.now_ms()
    for method, path in (
        ("POST", f"/media/protect/{media_id}"),
        ("POST", f"/media/unprotect/{media_id}"),
        ("POST", f"/media/delete?before_ts={now}"),
        ("POST", f"/media/{hs.server_name}/delete?before_ts={now}"),
        ("DELETE", f"/users/{alice.user_id}/media"),
    ):
        assert errcode(await admin_call(hs, alice, method, path)) == (403, "M_FORBIDDEN"), path
    assert (await download(hs, alice, media_id)).content == b"mine"


async def test_a_file_used_or_quarantined_after_it_was_chosen_stays(
    hs: Homeserver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deletion reads each chosen file again in the transaction that deletes it: one
    downloaded or quarantined meanwhile (between the choice and the deletion) is kept."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    read_meanwhile = await upload(hs, alice, b"read meanwhile", "text/plain")
    quarantined_meanwhile = await upload(hs, alice, b"quarantined meanwhile", "text/plain")
    unused = await upload(hs, alice, b"unused", "text/plain")
    cutoff = hs.clock.now_ms() + 1
    hs.clock.advance(10 * DAY_MS / 1000)
    store = hs.runtime.services.media_admin._store  # the window of the race
    choose = store.unused_uploads

    async def chosen_then_changed(q: Any, before_ts: int, size_gt: int) -> list[str]:
        chosen = await choose(q, before_ts, size_gt)
        assert (await download(hs, alice, read_meanwhile)).status_code == 200
        path = f"/media/quarantine/{hs.server_name}/{quarantined_meanwhile}"
        assert (await admin_call(hs, root, "POST", path)).status_code == 200
        return chosen

    monkeypatch.setattr(store, "unused_uploads", chosen_then_changed)
    resp = await admin_call(hs, root, "POST", f"/media/delete?before_ts={cutoff}")
    assert resp.json() == {"deleted_media": [unused], "total": 1}
    assert on_disk(hs, read_meanwhile)
    assert on_disk(hs, quarantined_meanwhile)
