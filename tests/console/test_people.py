"""People pages: search, create with a one-time password, a person's page, offboarding.

Issue #16: "People: search, create (with a one-time password or an invitation), edit (name,
admin, manager), sessions with revoke, reset password, and offboard with a confirmation step
that shows what will happen (rooms, successor admins) and then the workflow's report."
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote

from bastion.services.audit.reader import AuditQuery
from tests.api.admin.test_moderation_redact import seen_by, with_moderator
from tests.api.compliance.retention_helpers import DAY_S
from tests.conftest import OPERATOR, Homeserver, client_path
from tests.console.client import ConsoleClient


def _person(user_id: str, suffix: str = "") -> str:
    return f"/people/{quote(user_id, safe='')}" + (f"/{suffix}" if suffix else "")


async def test_create_a_person_with_a_one_time_password(
    hs: Homeserver, console: ConsoleClient
) -> None:
    """The password is shown once, works for /login, and the creation is audited as the admin."""
    resp = await console.post("/people/new", {"localpart": "dana", "displayname": "Dana Nowak"})
    assert resp.status_code == 200
    match = re.search(r'id="one-time-password">([^<]+)<', resp.text)
    assert match is not None
    login = await hs.http.post(client_path("/login"), json={
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "dana"},
        "password": match.group(1),
    })  # fmt: skip
    assert login.status_code == 200
    query = AuditQuery(action="user.create", target="@dana:test.bastion")
    records = await hs.runtime.services.audit_log.list(OPERATOR, query)
    assert [r.actor for r in records] == ["@root:test.bastion"]
    listing = await console.get("/people?q=nowak")
    assert "<td><bdi>@dana:test.bastion</bdi></td>" in listing.text
    assert "<td><bdi>@root:test.bastion</bdi></td>" not in listing.text
    # A taken user ID is explained on the form, not a 500.
    again = await console.post("/people/new", {"localpart": "dana"})
    assert again.status_code == 400
    assert "already taken" in again.text


async def test_a_persons_page_edits_locks_and_revokes(
    hs: Homeserver, console: ConsoleClient
) -> None:
    erin = await hs.register_user("erin")
    page = await console.get(_person(erin.user_id))
    assert erin.device_id in page.text
    await console.post(_person(erin.user_id, "profile"), {"displayname": "Erin K"})
    profile = await hs.runtime.services.admin_users.get_user(OPERATOR, erin.user_id)
    assert profile.profile.displayname == "Erin K"
    assert not profile.user.is_admin
    confirm = await console.get(_person(erin.user_id, f"sessions/{erin.device_id}/revoke"))
    assert confirm.status_code == 200
    assert "will be signed out" in confirm.text
    await console.post(_person(erin.user_id, f"sessions/{erin.device_id}/revoke"))
    assert (await erin.get(client_path("/account/whoami"))).status_code == 401
    lock = await console.get(_person(erin.user_id, "lock"))
    assert "until an admin unlocks" in lock.text
    assert (
        f'href="/admin{_person(erin.user_id, "lock")}"'
        in (await console.get(_person(erin.user_id))).text
    )
    await console.post(_person(erin.user_id, "lock"))
    assert (await hs.runtime.services.admin_users.get_user(OPERATOR, erin.user_id)).is_locked
    page = await console.get(_person(erin.user_id))
    assert f'<form method="post" action="/admin{_person(erin.user_id, "unlock")}"' in page.text
    assert "Unlock the account" in page.text
    assert "Lock the account" not in page.text
    await console.post(_person(erin.user_id, "unlock"))
    assert not (await hs.runtime.services.admin_users.get_user(OPERATOR, erin.user_id)).is_locked
    missing = await console.get(_person("@nobody:test.bastion"))
    assert missing.status_code == 404
    assert "no longer exists" in missing.text


async def test_suspend_and_lift_the_suspension(hs: Homeserver, console: ConsoleClient) -> None:
    frank = await hs.register_user("frank")
    room = await frank.create_room(name="Frank's room")
    page = await console.get(_person(frank.user_id))
    assert "Suspend the account" in page.text
    confirm = await console.get(_person(frank.user_id, "suspend"))
    assert "still be able to sign in and read" in confirm.text
    done = await console.post(_person(frank.user_id, "suspend"))
    assert done.status_code in (200, 303)
    assert await hs.runtime.services.suspensions.is_suspended(frank.user_id)
    page = await console.get(_person(frank.user_id))
    assert "Lift the suspension" in page.text
    assert "Suspended" in page.text
    refused = await frank.put(
        client_path(f"/rooms/{room}/send/m.room.message/t1"),
        json={"msgtype": "m.text", "body": "x"},
    )
    assert (refused.status_code, refused.json()["errcode"]) == (403, "M_USER_SUSPENDED")
    await console.post(_person(frank.user_id, "unsuspend"))
    assert not await hs.runtime.services.suspensions.is_suspended(frank.user_id)


async def test_shadow_ban_and_lift_it(hs: Homeserver, console: ConsoleClient) -> None:
    grace = await hs.register_user("grace")
    room = await grace.create_room(name="Grace's room")
    page = await console.get(_person(grace.user_id))
    assert "Shadow-ban the account" in page.text
    assert "answered, but reaches no one" not in page.text
    confirm = await console.get(_person(grace.user_id, "shadow-ban"))
    assert "they will not be told" in confirm.text
    done = await console.post(_person(grace.user_id, "shadow-ban"))
    assert done.status_code in (200, 303)
    page = await console.get(_person(grace.user_id))
    assert "answered, but reaches no one" in page.text
    assert "Lift the shadow ban" in page.text
    sent = await grace.put(
        client_path(f"/rooms/{room}/send/m.room.message/t1"),
        json={"msgtype": "m.text", "body": "x"},
    )
    assert sent.status_code == 200
    assert (
        await hs.runtime.db.fetch_val(
            "SELECT COUNT(*) FROM events WHERE event_id = ?", sent.json()["event_id"]
        )
        == 0
    )
    await console.post(_person(grace.user_id, "lift-shadow-ban"))
    assert "answered, but reaches no one" not in (await console.get(_person(grace.user_id))).text
    for action in ("user.shadow_ban", "user.unshadow_ban"):
        query = AuditQuery(action=action, target=grace.user_id)
        records = await hs.runtime.services.audit_log.list(OPERATOR, query)
        assert [r.actor for r in records] == ["@root:test.bastion"]


async def test_offboard_shows_what_will_happen_then_the_report(
    hs: Homeserver, console: ConsoleClient
) -> None:
    """The confirmation lists the rooms, the rooms losing their last admin and the successor;
    nothing happens until the POST, whose page is the workflow's report."""
    alice = await hs.register_user("alice")
    carol = await hs.register_user("carol")
    room = await alice.create_room(preset="public_chat")
    await carol.join(room)
    await console.post(_person(alice.user_id, "manager"), {"manager": "carol"})
    preview = await console.get(_person(alice.user_id, "offboard"))
    assert preview.status_code == 200
    assert room in preview.text
    assert "@carol:test.bastion" in preview.text
    assert (await alice.get(client_path("/account/whoami"))).status_code == 200
    report = await console.post(_person(alice.user_id, "offboard"))
    assert report.status_code == 200
    assert 'id="offboarding-report"' in report.text
    assert room in report.text
    assert "@carol:test.bastion" in report.text
    assert (await alice.get(client_path("/account/whoami"))).status_code == 401
    records = await hs.runtime.services.audit_log.list(OPERATOR, AuditQuery(action="user.offboard"))
    assert [r.actor for r in records] == ["@root:test.bastion"]
    assert "Files deleted" not in report.text  # without erasure no file is touched


async def test_offboard_with_erasure_reports_the_files(
    hs: Homeserver, console: ConsoleClient
) -> None:
    bob = await hs.register_user("bob")
    resp = await hs.http.post(
        "/_matrix/media/v3/upload",
        content=b"a draft",
        headers={"Authorization": f"Bearer {bob.token}", "Content-Type": "text/plain"},
    )
    assert resp.status_code == 200
    report = await console.post(_person(bob.user_id, "offboard"), {"erase": "on"})
    assert report.status_code == 200
    assert "Files deleted" in report.text
    assert "<dt>Files deleted</dt><dd>1</dd>" in report.text


async def test_pages_in_arabic_are_right_to_left(hs: Homeserver, console: ConsoleClient) -> None:
    await console.get("/language/ar?next=/admin/people")
    page = await console.get("/people")
    assert '<html lang="ar" dir="rtl">' in page.text
    assert "الأشخاص" in page.text
    assert "<bdi>@root:test.bastion</bdi>" in page.text
    await console.get("/language/pl?next=/admin/")
    assert "Osoby" in (await console.get("/")).text


async def test_offboard_preview_warns_of_rooms_left_without_an_admin(
    hs: Homeserver, console: ConsoleClient
) -> None:
    """With no manager in the room and no fallback admin, the room is named as losing its admin,
    and nothing is done by looking."""
    frank = await hs.register_user("frank")
    room = await frank.create_room()
    preview = await hs.runtime.services.offboarding.preview(OPERATOR, frank.user_id)
    assert preview.rooms == [room]
    assert preview.successors == {}
    assert preview.rooms_without_successor == [room]
    page = await console.get(_person(frank.user_id, "offboard"))
    assert "will have no admin left" in page.text
    assert (await frank.get(client_path("/account/whoami"))).status_code == 200


async def test_removing_a_persons_messages_on_chosen_days(
    hs: Homeserver, console: ConsoleClient
) -> None:
    """From a person's page: the count for the days chosen (none: every message), CSRF on the
    confirmation, the job queued with those days and shown; only that day's messages go. A
    malformed day is a readable 400, an unknown person 404; the page in Arabic."""
    await with_moderator(hs)
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    sent = {}
    for day in range(3):
        sent[day] = [await bob.send_text(room_id, f"day {day} note {n}") for n in range(2)]
        hs.clock.advance(DAY_S)
    second_day = (
        datetime.fromtimestamp((hs.clock.now_ms() - 2 * DAY_S * 1000) / 1000, tz=UTC)
        .date()
        .isoformat()
    )
    assert (await console.sign_in("root")).status_code == 303  # days on: a new session
    path = _person(bob.user_id, "remove-messages")
    assert f'href="/admin{path}"' in (await console.get(_person(bob.user_id))).text

    everything = await console.get(path)
    assert everything.status_code == 200
    assert "Messages to remove: <bdi>6</bdi>" in everything.text
    window = {"from": second_day, "until": second_day}
    counted = await console.get(path, params=window)
    assert "Messages to remove: <bdi>2</bdi>" in counted.text
    forged = await console.post(path, {**window, "csrf_token": ""})
    assert forged.status_code == 403
    queued = await console.post(path, {**window, "reason": "spam"})
    assert queued.status_code == 303
    job_path = queued.headers["location"].removeprefix("/admin")
    assert job_path.startswith("/redactions/")
    await hs.runtime.services.redaction_jobs.run_to_completion()
    assert "Complete" in (await console.get(job_path)).text
    for day, events in sent.items():
        for event_id in events:
            assert ((await seen_by(alice, room_id, event_id))["content"] == {}) == (day == 1)

    refused = await console.get(path, params={"from": "last week"})
    assert refused.status_code == 400
    assert "<bdi>" in refused.text
    missing = await console.get(_person("@nobody:test.bastion", "remove-messages"))
    assert missing.status_code == 404
    console.http.cookies.set("lang", "ar")
    arabic = await console.get(path)
    assert "عدد الرسائل التي ستُزال" in arabic.text
