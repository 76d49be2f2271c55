"""The console's compliance pages (issue #16, "Compliance: legal holds (place, list, release),
exports (start, a live progress bar, download, manifest), the DLP review queue"), in process."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from bastion.errors import MatrixError
from bastion.services.export.manifest import read_manifest
from tests.api.compliance.dlp_helpers import IBAN, dlp_policy, set_dlp, text
from tests.api.compliance.export_helpers import run_jobs, verified_manifest
from tests.conftest import OPERATOR, Homeserver
from tests.console.client import ConsoleClient

HOLDS = "/compliance/holds"
EXPORTS = "/compliance/exports"
DLP = "/compliance/dlp"
ADMIN = "@root:test.bastion"  # the `console` fixture's admin


async def _audit(hs: Homeserver, prefix: str) -> list[tuple[str, str, str | None, str]]:
    """(action, actor, target, outcome) of the audit records whose action starts with
    `prefix`, oldest first."""
    rows = await hs.runtime.db.fetch_all(
        "SELECT action, actor, target, outcome FROM audit_log WHERE action LIKE ? ORDER BY seq",
        f"{prefix}%",
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


async def test_place_list_and_release_a_hold_with_confirmation(
    hs: Homeserver, console: ConsoleClient
) -> None:
    """Issue #16: "legal holds (place, list, release)"; "Every destructive action asks for
    confirmation and is audited with the admin as actor"; issue #13: "Placing and releasing
    are audited"."""
    users = "@alice:test.bastion\n@bob:test.bastion"
    form = {"case": "C-17", "reason": "court order", "users": users, "rooms": "!ward:test.bastion"}

    refused = await console.post(HOLDS, {**form, "csrf_token": "forged"})
    assert refused.status_code == 403
    assert await _audit(hs, "hold.") == []

    placed = await console.post(HOLDS, form)
    assert (placed.status_code, placed.headers["location"]) == (303, f"/admin{HOLDS}")
    page = await console.get(HOLDS)
    assert "C-17" in page.text
    assert "<bdi>@bob:test.bastion</bdi>" in page.text
    [hold] = await hs.runtime.services.legal_holds.list(OPERATOR, after="", limit=9)
    assert (hold.users, hold.rooms) == (["@alice:test.bastion", "@bob:test.bastion"],
                                        ["!ward:test.bastion"])  # fmt: skip
    release_path = f"{HOLDS}/{hold.hold_id}/release"
    assert f'href="/admin{release_path}"' in page.text

    confirm = await console.get(release_path)
    assert confirm.status_code == 200
    assert "court order" in confirm.text
    assert 'name="csrf_token"' in confirm.text
    assert await _audit(hs, "hold.release") == []  # the confirmation page changes nothing
    assert (await console.post(release_path, {"csrf_token": "forged"})).status_code == 403
    released = await console.post(release_path)
    assert released.status_code == 303
    assert "Released" in (await console.get(HOLDS)).text
    assert await _audit(hs, "hold.") == [
        ("hold.place", ADMIN, hold.hold_id, "success"),
        ("hold.release", ADMIN, hold.hold_id, "success"),
    ]
    again = await console.post(release_path)  # already released: the service's 400, as a page
    assert again.status_code == 400
    assert "A value in the form is not valid." in again.text


async def test_a_refused_hold_is_explained_above_the_form_it_keeps(
    hs: Homeserver, console: ConsoleClient
) -> None:
    """Issue #16: "a service's MatrixError becomes a readable translated message on the page";
    issue #13: a hold must name users or rooms."""
    resp = await console.post(HOLDS, {"case": "C-18", "reason": "", "users": "", "rooms": ""})
    assert resp.status_code == 400
    assert "A value in the form is not valid." in resp.text
    assert "a hold must name users or rooms" in resp.text
    assert 'value="C-18"' in resp.text  # what the admin typed is kept
    assert await _audit(hs, "hold.place") == [("hold.place", "@root:test.bastion", None, "failure")]
    unknown = await console.get(f"{HOLDS}/hold_0000000000000_ffffffff/release")
    assert unknown.status_code == 404


async def test_start_an_export_watch_it_download_it_and_read_its_manifest(
    hs: Homeserver, console: ConsoleClient
) -> None:
    """Issue #16: "exports (start, a live progress bar, download, manifest)"; issue #13:
    creating and downloading an export are audited."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(name="Ward")
    await alice.send_text(room_id, "hello")

    started = await console.post(
        EXPORTS, {"rooms": room_id, "users": "", "from_day": "", "to_day": "", "format": "csv"}
    )
    assert started.status_code == 303
    path = started.headers["location"].removeprefix("/admin")
    export_id = path.rsplit("/", 1)[1]
    page = await console.get(path)
    assert f'data-status-url="/admin{path}/status"' in page.text
    assert '<script type="module" src="/admin/static/console.js">' in page.text
    status = (await console.get(f"{path}/status")).json()
    assert (status["status"], status["finished"]) == ("running", False)
    assert export_id in (await console.get(EXPORTS)).text  # the recent exports
    with pytest.raises(MatrixError) as not_yet:  # no manifest before the archive is complete
        await read_manifest(hs.runtime.services.exports, OPERATOR, export_id)
    assert not_yet.value.status == 409

    await run_jobs(hs)
    status = (await console.get(f"{path}/status")).json()
    assert (status["status"], status["progress"], status["finished"]) == ("done", 1.0, True)
    page = await console.get(path)
    assert "data-status-url" not in page.text  # nothing left to poll
    assert f'href="/admin{path}/download"' in page.text
    assert "conversations.csv" in page.text
    assert "Manifest" in page.text
    download = await console.get(f"{path}/download")
    assert download.headers["content-type"] == "application/zip"
    manifest = verified_manifest(zipfile.ZipFile(io.BytesIO(download.content)))
    assert (manifest["export_id"], manifest["rooms"]) == (export_id, [room_id])
    assert await _audit(hs, "export.") == [
        ("export.create", "@root:test.bastion", export_id, "success"),
        ("export.download", "@root:test.bastion", export_id, "success"),
    ]
    hs.runtime.services.exports.archive_path(export_id).unlink()
    gone = await console.get(path)  # the archive was removed behind the server's back
    assert gone.status_code == 404
    assert "It does not exist, or no longer exists." in gone.text


async def test_a_refused_export_is_explained_and_creates_nothing(
    hs: Homeserver, console: ConsoleClient
) -> None:
    """Issue #13: an export's selection is checked (a user ID must be one); issue #16: the
    refusal is a readable message on the page."""
    form = {"rooms": "", "users": "not-a-user", "from_day": "", "to_day": "", "format": "jsonl"}
    resp = await console.post(EXPORTS, form)
    assert resp.status_code == 400
    assert "A value in the form is not valid." in resp.text
    assert "not-a-user" in resp.text
    bad_day = await console.post(EXPORTS, {**form, "users": "", "from_day": "yesterday"})
    assert bad_day.status_code == 400
    bad_format = await console.post(EXPORTS, {**form, "users": "", "format": "pdf"})
    assert bad_format.status_code == 400
    assert [a for a in await _audit(hs, "export.") if a[3] == "success"] == []
    # An `export.create` record whose job is not there (as after a CLI export) lists nothing.
    await hs.runtime.services.audit.record_alone(OPERATOR, "export.create", "ghost")
    assert "No exports yet." in (await console.get(EXPORTS)).text


async def test_the_dlp_review_queue_and_resolving_an_entry(
    hs: Homeserver, console: ConsoleClient
) -> None:
    """Issue #16: "the DLP review queue"; issue #13: a resolution is audited
    (`dlp.review.resolve`), with the admin as actor."""
    root = await hs.login("root")
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    await set_dlp(root, dlp_policy("Flag IBANs", "flag", "iban"))
    assert (await text(alice, room_id, IBAN)).status_code == 200

    queue = await console.get(DLP)
    assert "Flag IBANs" in queue.text
    assert f"<bdi>{alice.user_id}</bdi>" in queue.text
    assert IBAN not in queue.text  # the queue never holds the matched text
    [review_id] = re.findall(r"/admin/compliance/dlp/(\d+)/resolve", queue.text)
    confirm = await console.get(f"{DLP}/{review_id}/resolve")
    assert confirm.status_code == 200
    assert 'name="resolution"' in confirm.text
    refused = await console.post(
        f"{DLP}/{review_id}/resolve", {"resolution": "x", "csrf_token": ""}
    )
    assert refused.status_code == 403
    done = await console.post(f"{DLP}/{review_id}/resolve", {"resolution": "false positive"})
    assert done.status_code == 303
    assert "Nothing to review." in (await console.get(DLP)).text
    resolved = await console.get(DLP, params={"status": "resolved"})
    assert "false positive" in resolved.text
    assert await _audit(hs, "dlp.review") == [("dlp.review.resolve", ADMIN, review_id, "success")]
    again = await console.post(f"{DLP}/{review_id}/resolve", {"resolution": "twice"})
    assert again.status_code == 409
    assert (await console.get(f"{DLP}/999/resolve")).status_code == 404
    assert (await console.get(f"{DLP}/abc/resolve")).status_code == 404


MY_ROUTES = [
    ("GET", "/compliance"),
    ("GET", HOLDS),
    ("POST", HOLDS),
    ("GET", f"{HOLDS}/hold_1/release"),
    ("POST", f"{HOLDS}/hold_1/release"),
    ("GET", EXPORTS),
    ("POST", EXPORTS),
    ("GET", f"{EXPORTS}/x"),
    ("GET", f"{EXPORTS}/x/status"),
    ("GET", f"{EXPORTS}/x/download"),
    ("GET", DLP),
    ("GET", f"{DLP}/1/resolve"),
    ("POST", f"{DLP}/1/resolve"),
    ("GET", "/audit"),
    ("GET", "/audit/export"),
    ("POST", "/audit/verify"),
]


async def test_no_compliance_page_or_action_without_a_session(
    hs: Homeserver, browser: ConsoleClient, admin_id: str
) -> None:
    """Issue #16: "Security tests: no page or action without a session": each compliance
    route sends a browser without a session to the sign-in page, and records nothing."""
    before = await hs.runtime.db.fetch_all("SELECT seq FROM audit_log")
    for method, path in MY_ROUTES:
        resp = await browser.http.request(method, f"/admin{path}", data={"csrf_token": "x"})
        assert resp.status_code == 303, (method, path)
        assert resp.headers["location"].startswith("/admin/login"), (method, path)
    assert await hs.runtime.db.fetch_all("SELECT seq FROM audit_log") == before


HEADINGS = {
    "ar": ["الامتثال", "الحجوزات القانونية", "عمليات التصدير",
           "قائمة مراجعة منع تسرب البيانات (DLP)", "سجل التدقيق"],
    "pl": ["Zgodność", "Blokady prawne", "Eksporty", "Kolejka przeglądu DLP", "Dziennik audytu"],
}  # fmt: skip


@pytest.mark.parametrize(("language", "headings"), HEADINGS.items())
async def test_compliance_pages_in_arabic_and_polish(
    console: ConsoleClient, language: str, headings: list[str]
) -> None:
    """Issue #16: "translations ... (`en`, `ar`, `pl` ...) and switchable", "right-to-left
    layout for Arabic ... `dir="rtl"`"."""
    switched = await console.get(f"/language/{language}", params={"next": "/admin/compliance"})
    assert switched.status_code == 303
    paths = ["/compliance", HOLDS, EXPORTS, DLP, "/audit"]
    for path, heading in zip(paths, headings, strict=True):
        page = await console.get(path)
        assert page.status_code == 200, path
        direction = "rtl" if language == "ar" else "ltr"
        assert f'<html lang="{language}" dir="{direction}">' in page.text
        assert f"<h1>{heading}</h1>" in page.text, path
