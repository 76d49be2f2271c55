"""The console's room pages (issue #16, "Rooms (the organisation's groups)"), in process."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import openpyxl

from bastion.workers.history_purge import HistoryPurgeWorker
from tests.api.admin.test_moderation_redact import audit_rows, with_moderator
from tests.api.compliance.retention_helpers import DAY_S, event_ids_in_db, place_hold
from tests.conftest import OPERATOR, Homeserver
from tests.console.client import ConsoleClient

ENCRYPTION = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}


def room_path(room_id: str) -> str:
    return f"/rooms/{quote(room_id, safe='')}"


async def test_inventory_filters_room_page_and_export(
    hs: Homeserver, console: ConsoleClient
) -> None:
    """Issue #16: "the inventory with its filters, export CSV/XLSX buttons, a room's page
    (members, admins, topic as the group's rules, encryption, last activity)"."""
    alice = await hs.register_user("alice")
    plain = await alice.create_room(name="Cardiology", topic="Be kind; no patient names")
    secret = await alice.create_room(name="Board", initial_state=[ENCRYPTION])
    admin = console

    page = await admin.get("/rooms")
    assert page.status_code == 200
    assert "Cardiology" in page.text
    assert "Board" in page.text
    assert "format=xlsx" in page.text
    assert "format=csv" in page.text

    only_encrypted = await admin.get("/rooms", params={"encrypted": "true"})
    assert "Board" in only_encrypted.text
    assert "Cardiology" not in only_encrypted.text
    searched = await admin.get("/rooms", params={"search": "cardio", "inactive_days": "x"})
    assert "Cardiology" in searched.text
    assert "Board" not in searched.text

    room = await admin.get(room_path(plain))
    assert room.status_code == 200
    assert "Be kind; no patient names" in room.text
    assert f"<bdi>{alice.user_id}</bdi>" in room.text  # member and (creator) admin
    assert "Make admin" not in room.text  # the only member is already an admin

    export = await admin.get("/rooms/export", params={"format": "xlsx", "encrypted": "true"})
    assert export.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [secret]
    export_rows: list[tuple[str, str | None]] = [("success", None)]
    assert await audit_rows(hs, "room.export") == export_rows


async def test_make_admin_remove_member_and_close_room(
    hs: Homeserver, console: ConsoleClient
) -> None:
    """Issue #16: "make admin, remove member, close room"; "Every destructive action asks for
    confirmation and is audited with the admin as actor"; "CSRF token on every form"."""
    await with_moderator(hs)
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat", name="Lab")
    await bob.join(room_id)
    admin = console
    path = room_path(room_id)

    confirm = await admin.get(f"{path}/promote", params={"user_id": bob.user_id})
    assert confirm.status_code == 200
    assert 'name="csrf_token"' in confirm.text
    assert bob.user_id in confirm.text
    refused = await admin.post(f"{path}/promote", {"user_id": bob.user_id, "csrf_token": ""})
    assert refused.status_code == 403
    assert await audit_rows(hs, "room.promote") == []

    done = await admin.post(f"{path}/promote", {"user_id": bob.user_id})
    assert done.status_code == 303
    details = await hs.runtime.services.room_admin.details(OPERATOR, room_id)
    assert bob.user_id in details.summary.admins
    assert "is now an admin" in (await admin.get(path)).text  # the flash message

    carol = await hs.register_user("carol")
    await carol.join(room_id)
    assert (await admin.get(f"{path}/remove", params={"user_id": carol.user_id})).status_code == 200
    removed = await admin.post(f"{path}/remove", {"user_id": carol.user_id, "reason": "spam"})
    assert removed.status_code == 303
    members = await hs.runtime.services.room_admin.members(OPERATOR, room_id)
    assert carol.user_id not in members
    assert await audit_rows(hs, "room.kick") == [("success", carol.user_id)]

    assert (await admin.get(f"{path}/close")).status_code == 200
    closed = await admin.post(f"{path}/close", {"reason": "project over"})
    assert closed.status_code == 303
    assert await audit_rows(hs, "room.delete") == [("success", room_id)]
    actors = await hs.runtime.db.fetch_all(
        "SELECT DISTINCT actor_kind, actor FROM audit_log WHERE action IN ('room.promote',"
        " 'room.kick', 'room.delete')"
    )
    assert [(row[0], str(row[1]).split(" ")[0]) for row in actors] == [
        ("user", f"@root:{hs.server_name}")
    ], actors


async def test_a_refused_action_is_a_readable_page(hs: Homeserver, console: ConsoleClient) -> None:
    """Issue #16 (framework): "a service's MatrixError becomes a readable translated message on
    the page (never a traceback or 500)": removing someone not in the room."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    admin = console
    resp = await admin.post(f"{room_path(room_id)}/remove", {"user_id": "@nobody:elsewhere"})
    assert resp.status_code == 403
    assert "This action is not allowed." in resp.text
    missing = await admin.get(room_path("!nope:" + hs.server_name))
    assert missing.status_code == 404


async def test_room_pages_need_a_session(hs: Homeserver, browser: ConsoleClient) -> None:
    """Issue #16: "no page or action without a session"."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    for path in ("/rooms", "/rooms/export", room_path(room_id), f"{room_path(room_id)}/close"):
        resp = await browser.get(path)
        assert resp.status_code == 303, path
        assert resp.headers["location"].startswith("/admin/login")
    post = await browser.post(f"{room_path(room_id)}/close", {"csrf_token": "x"})
    assert post.status_code == 303
    assert await audit_rows(hs, "room.delete") == []


async def test_add_a_person_and_block_or_allow_joining(
    hs: Homeserver, console: ConsoleClient
) -> None:
    """The admin API's join and block, from a room's page: confirmation first, CSRF on the
    POST, the person really in the room, audited with the admin as actor."""
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    room_id = await alice.create_room(preset="private_chat", name="Pharmacy")
    admin = console
    path = room_path(room_id)
    page = await admin.get(path)
    assert 'action="/admin/rooms/' in page.text
    assert 'name="user_id"' in page.text
    assert "Joining is blocked" not in page.text

    confirm = await admin.get(f"{path}/add", params={"user_id": bob.user_id})
    assert confirm.status_code == 200
    assert bob.user_id in confirm.text
    assert 'name="csrf_token"' in confirm.text
    forged = await admin.post(f"{path}/add", {"user_id": bob.user_id, "csrf_token": ""})
    assert forged.status_code == 403
    assert room_id not in (await bob.get("/joined_rooms")).json()["joined_rooms"]
    added = await admin.post(f"{path}/add", {"user_id": bob.user_id})
    assert added.status_code == 303
    assert room_id in (await bob.get("/joined_rooms")).json()["joined_rooms"]
    assert "was added to this room" in (await admin.get(path)).text
    refused = await admin.post(f"{path}/add", {"user_id": "@nobody:elsewhere.example"})
    assert refused.status_code == 400  # a readable page, not a traceback
    assert "<bdi>" in refused.text

    assert (await admin.get(f"{path}/block")).status_code == 200
    assert (await admin.post(f"{path}/block", {})).status_code == 303
    page = await admin.get(path)
    assert "Joining is blocked" in page.text
    assert f"{path}/unblock" in page.text
    carol = await hs.register_user("carol")
    resp = await admin.post(f"{path}/add", {"user_id": carol.user_id})
    assert resp.status_code == 403
    assert (await admin.get(f"{path}/unblock")).status_code == 200
    assert (await admin.post(f"{path}/unblock", {})).status_code == 303
    assert "Joining is blocked" not in (await admin.get(path)).text
    assert (await admin.post(f"{path}/add", {"user_id": carol.user_id})).status_code == 303
    actors = await hs.runtime.db.fetch_all(
        "SELECT action, outcome, actor FROM audit_log WHERE action IN ('room.force_join',"
        " 'room.block', 'room.unblock') ORDER BY seq"
    )
    root = f"@root:{hs.server_name}"
    assert [(r[0], r[1]) for r in actors] == [
        ("room.force_join", "success"),
        ("room.force_join", "failure"),
        ("room.block", "success"),
        ("room.force_join", "failure"),
        ("room.unblock", "success"),
        ("room.force_join", "success"),
    ]
    assert {r[2] for r in actors} == {root}


async def test_deleting_a_rooms_old_messages(hs: Homeserver, console: ConsoleClient) -> None:
    """A history purge from a room's page (the admin API's purge_history, this server's users'
    messages included): confirmation first, CSRF on the POST, the messages gone once the
    worker ran, the page showing it done with the count, held messages kept, audited with the
    admin as actor; a malformed day is a readable refusal."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat", name="Night shift")
    await bob.join(room_id)
    old = [await alice.send_text(room_id, f"old {i}") for i in range(3)]
    held = await bob.send_text(room_id, "bob's old")
    await alice.send_text(room_id, "the last one before the day")
    await place_hold(await hs.login("root"), users=[bob.user_id])
    hs.clock.advance(3 * DAY_S)
    await alice.send_text(room_id, "new")
    day = (datetime.fromtimestamp(hs.clock.now_ms() / 1000, tz=UTC) - timedelta(days=1)).date()
    assert (await console.sign_in("root")).status_code == 303  # days on: a new session
    path = room_path(room_id)
    assert (
        f'action="/admin/rooms/{quote(room_id, safe="")}/purge"' in (await console.get(path)).text
    )

    confirm = await console.get(f"{path}/purge", params={"before": day.isoformat()})
    assert confirm.status_code == 200
    assert "Night shift" in confirm.text
    assert "every message a legal hold covers" in confirm.text
    forged = await console.post(f"{path}/purge", {"before": day.isoformat(), "csrf_token": ""})
    assert forged.status_code == 403
    assert (await console.post(f"{path}/purge", {"before": day.isoformat()})).status_code == 303
    page = await console.get(path)
    assert "The old messages are being deleted" in page.text
    assert "In progress" in page.text
    await HistoryPurgeWorker(hs.runtime.services.history_purges, hs.clock).run_once()

    stored = await event_ids_in_db(hs, room_id)
    assert not stored & set(old)
    assert held in stored
    page = await console.get(path)
    assert "Done" in page.text
    assert "messages deleted: <bdi>3</bdi>" in page.text
    actors = await hs.runtime.db.fetch_all(
        "SELECT actor FROM audit_log WHERE action = 'room.purge_history' ORDER BY seq"
    )
    assert [r[0] for r in actors] == [f"@root:{hs.server_name}", "server"]
    for bad in ("yesterday", ""):
        refused = await console.get(f"{path}/purge", params={"before": bad})
        assert refused.status_code == 400
        assert "<bdi>" in refused.text
    console.http.cookies.set("lang", "ar")
    arabic = await console.get(f"{path}/purge", params={"before": day.isoformat()})
    assert "حذف الرسائل القديمة" in arabic.text
