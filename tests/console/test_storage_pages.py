"""The console's storage page (console/storage.py): who stores how much, and deleting the files
nobody has downloaded since a day, with the admin API's rules (docs/admin-api.md#media):
quarantined, protected and legally held files are never deleted; avatars in use are kept unless
the box is unticked; confirmation first, CSRF on the POST, audited with the admin as actor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from tests.api.admin.test_media_admin import send_file
from tests.api.compliance.retention_helpers import place_hold
from tests.api.test_media import stored_files, upload
from tests.conftest import Homeserver
from tests.console.client import ConsoleClient

DAY_MS = 24 * 60 * 60 * 1000


def on_disk(hs: Homeserver, media_id: str) -> bool:
    root = Path(hs.runtime.config.media.store_path)
    return any(media_id in path.name for path in stored_files(root))


async def test_who_stores_how_much(hs: Homeserver, console: ConsoleClient) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    await upload(hs, alice, b"a" * 1500)
    await upload(hs, bob, b"b" * 2_500_000)
    page = await console.get("/storage")
    assert page.status_code == 200
    text = page.text
    assert text.index(bob.user_id) < text.index(alice.user_id)  # who stores the most first
    assert "2.5 MB" in text
    assert "1.5 kB" in text
    searched = await console.get("/storage", params={"search": "ali"})
    assert alice.user_id in searched.text
    assert bob.user_id not in searched.text
    console.http.cookies.set("lang", "pl")
    polish = await console.get("/storage")
    assert "2,5 MB" in polish.text  # the sizes as the language writes them


async def test_deleting_old_files_from_the_console(hs: Homeserver, console: ConsoleClient) -> None:
    root_id = f"@root:{hs.server_name}"
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    old = await upload(hs, alice, b"old and unused")
    evidence = await upload(hs, alice, b"under a hold")
    await send_file(alice, room_id, f"mxc://{hs.server_name}/{evidence}", "t1")
    await place_hold(await hs.login("root"), rooms=[room_id])
    uploaded = datetime.fromtimestamp(hs.clock.now_ms() / 1000, tz=UTC)
    hs.clock.advance(10 * DAY_MS / 1000)
    fresh = await upload(hs, alice, b"new")
    day = (uploaded + timedelta(days=2)).date().isoformat()
    assert (await console.sign_in("root")).status_code == 303  # ten days on: a new session

    confirm = await console.get(
        "/storage/delete", params={"before": day, "size_mb": "0", "keep_avatars": "1"}
    )
    assert confirm.status_code == 200, confirm.headers
    assert 'name="csrf_token"' in confirm.text
    assert "Pictures in use as avatars are kept." in confirm.text
    forged = await console.post(
        "/storage/delete", {"before": day, "size_mb": "0", "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    assert on_disk(hs, old)

    done = await console.post(
        "/storage/delete", {"before": day, "size_mb": "0", "keep_avatars": "1"}
    )
    assert done.status_code == 303
    assert "Files deleted: <bdi>1</bdi>" in (await console.get("/storage")).text
    assert not on_disk(hs, old)
    assert on_disk(hs, evidence)  # a legal hold needs it
    assert on_disk(hs, fresh)
    actors = await hs.runtime.db.fetch_all(
        "SELECT actor, details FROM audit_log WHERE action = 'media.delete'"
    )
    assert [row[0] for row in actors] == [root_id]

    for params in ({"before": "yesterday"}, {"before": day, "size_mb": "-1"}):
        refused = await console.get("/storage/delete", params=params)
        assert refused.status_code == 400, params
        assert "<bdi>" in refused.text  # the service's detail, readable
    future = (uploaded + timedelta(days=400)).date().isoformat()
    late = await console.post("/storage/delete", {"before": future, "size_mb": "0"})
    assert late.status_code == 400


async def test_storage_pages_need_a_session(hs: Homeserver, browser: ConsoleClient) -> None:
    for path in ("/storage", "/storage/delete?before=2020-01-01", "/storage/rooms"):
        resp = await browser.get(path)
        assert resp.status_code == 303, path
        assert resp.headers["location"].startswith("/admin/login")
    post = await browser.post("/storage/delete", {"before": "2020-01-01", "csrf_token": "x"})
    assert post.status_code == 303
    assert (
        await hs.runtime.db.fetch_val(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'media.delete'"
        )
        == 0
    )


async def test_the_largest_rooms(hs: Homeserver, console: ConsoleClient) -> None:
    """The storage page links to the ten rooms whose messages take the most space, each
    linking to its room's page (where its old messages can be deleted)."""
    alice = await hs.register_user("alice")
    quiet = await alice.create_room(name="Quiet")
    busy = await alice.create_room(name="Busy ward")
    for i in range(5):
        await alice.send_text(busy, f"handover {i} " + "x" * 3000)
    assert "/admin/storage/rooms" in (await console.get("/storage")).text
    page = await console.get("/storage/rooms")
    assert page.status_code == 200
    text = page.text
    assert text.index("Busy ward") < text.index("Quiet")  # largest first
    assert f"/admin/rooms/{quote(busy, safe='')}" in text
    assert quiet in text or "Quiet" in text
    console.http.cookies.set("lang", "pl")
    assert "Największe pokoje" in (await console.get("/storage/rooms")).text
