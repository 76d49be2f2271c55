"""The console's report queue and moderation pages (issue #16, "Reports and moderation")."""

from __future__ import annotations

from tests.api.admin.test_moderation_redact import audit_rows, seen_by, with_moderator
from tests.api.test_media import download, upload
from tests.conftest import Homeserver, UserClient, errcode
from tests.console.client import ConsoleClient


async def _reported(hs: Homeserver) -> tuple[UserClient, UserClient, str, str]:
    """alice says three things in a room, bob reports the second."""
    await with_moderator(hs)
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat", name="Ward 7")
    await bob.join(room_id)
    await alice.send_text(room_id, "good morning")
    event_id = await alice.send_text(room_id, "the offending words")
    await alice.send_text(room_id, "see you later")
    resp = await bob.post(f"/rooms/{room_id}/report/{event_id}", json={"reason": "rude"})
    assert resp.status_code == 200, resp.text
    return alice, bob, room_id, event_id


async def test_queue_and_the_message_in_context(hs: Homeserver, console: ConsoleClient) -> None:
    """Issue #16: "the report queue with the reported message in context"."""
    admin, (alice, bob, _room_id, _event_id) = console, await _reported(hs)
    queue = await admin.get("/reports")
    assert queue.status_code == 200
    assert "rude" in queue.text
    assert "Ward 7" in queue.text
    assert bob.user_id in queue.text
    assert "No reports." in (await admin.get("/reports", params={"status": "dismissed"})).text

    report = await admin.get("/reports/1")
    assert report.status_code == 200
    body = report.text
    assert (
        body.index("good morning") < body.index("the offending words") < body.index("see you later")
    )
    assert 'aria-current="true"' in body  # the reported message is marked
    assert alice.user_id in body


async def test_remove_message_is_confirmed_then_redacted_for_members(
    hs: Homeserver, console: ConsoleClient
) -> None:
    """Issue #16: "remove message with reason"; "Every destructive action asks for confirmation
    and is audited with the admin as actor"."""
    admin, (_alice, bob, room_id, event_id) = console, await _reported(hs)
    confirm = await admin.get("/reports/1/remove")
    assert confirm.status_code == 200
    assert 'name="reason"' in confirm.text
    assert (
        await admin.post("/reports/1/remove", {"reason": "x", "csrf_token": ""})
    ).status_code == 403
    assert (await seen_by(bob, room_id, event_id))["content"]["body"] == "the offending words"

    done = await admin.post("/reports/1/remove", {"reason": "abusive"})
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/reports/1"
    assert (await seen_by(bob, room_id, event_id))["content"] == {}
    assert await audit_rows(hs, "event.redact") == [("success", event_id)]
    page = await admin.get("/reports/1")
    assert "Message removed" in page.text
    assert "Resolved" in page.text
    assert "the offending words" not in page.text


async def test_dismiss(hs: Homeserver, console: ConsoleClient) -> None:
    """Issue #16: "dismiss"."""
    admin = console
    await _reported(hs)
    assert (await admin.post("/reports/1/dismiss", {"csrf_token": ""})).status_code == 403
    assert (await admin.post("/reports/1/dismiss")).status_code == 303
    assert "Dismissed" in (await admin.get("/reports/1")).text
    assert await audit_rows(hs, "report.dismiss") == [("success", "1")]


async def test_remove_all_of_a_users_messages_shows_the_job(
    hs: Homeserver, console: ConsoleClient
) -> None:
    """Issue #16: "remove all of a user's messages"; the confirmation says how many."""
    admin, (alice, bob, room_id, _event_id) = console, await _reported(hs)
    confirm = await admin.get("/reports/1/remove-all")
    assert confirm.status_code == 200
    assert "<bdi>3</bdi>" in confirm.text  # alice's three messages
    started = await admin.post("/reports/1/remove-all", {"reason": "spammer"})
    assert started.status_code == 303
    job_path = started.headers["location"].removeprefix("/admin")
    assert job_path.startswith("/redactions/")
    await hs.runtime.services.redaction_jobs.run_to_completion()
    job = await admin.get(job_path)
    assert job.status_code == 200
    assert "Complete" in job.text
    timeline = await bob.get(f"/rooms/{room_id}/messages", params={"dir": "b", "limit": "20"})
    bodies = [e["content"].get("body") for e in timeline.json()["chunk"]
              if e["type"] == "m.room.message" and e["sender"] == alice.user_id]  # fmt: skip
    assert bodies == [None, None, None]


async def test_report_pages_need_a_session(browser: ConsoleClient) -> None:
    """Issue #16: "no page or action without a session"."""
    for path in ("/reports", "/reports/1", "/reports/1/remove", "/redactions/x"):
        resp = await browser.get(path)
        assert resp.status_code == 303, path
    resp = await browser.post("/reports/1/dismiss", {"csrf_token": "x"})
    assert resp.status_code == 303


async def _reported_file(hs: Homeserver) -> tuple[UserClient, str, str]:
    """alice sends a file to a room, bob reports it; (bob, the file's media ID, the event)."""
    await with_moderator(hs)
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat", name="Ward 7")
    await bob.join(room_id)
    media_id = await upload(hs, alice, b"a patient's letter", "application/pdf")
    sent = await alice.put(
        f"/rooms/{room_id}/send/m.room.message/f1",
        json={
            "msgtype": "m.file",
            "body": "letter.pdf",
            "url": f"mxc://{hs.server_name}/{media_id}",
        },
    )
    event_id = sent.json()["event_id"]
    resp = await bob.post(f"/rooms/{room_id}/report/{event_id}", json={"reason": "patient data"})
    assert resp.status_code == 200, resp.text
    return bob, media_id, event_id


async def test_removing_a_message_takes_its_file_out_of_reach_too(
    hs: Homeserver, console: ConsoleClient
) -> None:
    """A redacted message's file stays downloadable by its URI: the removal quarantines it
    (services/media/admin.py), unless the admin unticks it."""
    admin, (bob, media_id, event_id) = console, await _reported_file(hs)
    assert (await download(hs, bob, media_id)).status_code == 200
    confirm = await admin.get("/reports/1/remove")
    assert 'name="quarantine_files" value="1" checked' in confirm.text
    done = await admin.post(
        "/reports/1/remove", {"reason": "patient data", "quarantine_files": "1"}
    )
    assert done.status_code == 303
    page = await admin.get("/reports/1")
    assert "its files taken out of reach" in page.text
    assert errcode(await download(hs, bob, media_id)) == (404, "M_NOT_FOUND")
    rows = await hs.runtime.db.fetch_all(
        "SELECT target FROM audit_log WHERE action = 'media.quarantine'"
    )
    assert [r[0] for r in rows] == [event_id]


async def test_an_admin_may_keep_the_file_when_removing_the_message(
    hs: Homeserver, console: ConsoleClient
) -> None:
    admin, (bob, media_id, _event_id) = console, await _reported_file(hs)
    done = await admin.post("/reports/1/remove", {"reason": "wrong room"})  # unticked
    assert done.status_code == 303
    assert (await download(hs, bob, media_id)).status_code == 200


async def test_a_message_without_files_offers_no_quarantine(
    hs: Homeserver, console: ConsoleClient
) -> None:
    admin, _ = console, await _reported(hs)
    confirm = await admin.get("/reports/1/remove")
    assert "quarantine_files" not in confirm.text
