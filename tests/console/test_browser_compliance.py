"""The compliance and audit pages in a real browser against a real `bastion serve`, in English,
Arabic and Polish (issue #16, "What it must show"):

- "place and release a hold";
- exports: "start, a live progress bar, download, manifest" (the page follows the job through
  `console.js` and shows the download link without a manual reload);
- the DLP review queue and the audit log's "verify the chain" button;
- "The same flows in Arabic (the page is `dir="rtl"` ...) and Polish";
- "an accessibility pass ... with axe-core run in the browser tests, no serious violations".

Pages are driven by element IDs, names and URLs, never by their (translated) words.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from playwright.async_api import Page, async_playwright

from tests.clients.server import PASSWORD, BastionServer, bastion_home, bastion_server
from tests.console.browser import (
    TIMEOUT_MS,
    accessibility_violations,
    axe_path,
    choose_language,
    chromium_path,
    describe,
    sign_in,
)

__all__ = ["bastion_home", "bastion_server"]  # fixtures
LANGUAGES = ["en", "ar", "pl"]


@asynccontextmanager
async def _page() -> AsyncIterator[Page]:
    executable = chromium_path()
    if executable is None or axe_path() is None:
        pytest.skip("no Chromium or axe-core (run under scripts/with-chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable)
        try:
            context = await browser.new_context(accept_downloads=True)
            context.set_default_timeout(TIMEOUT_MS)
            page = await context.new_page()
            refused: list[str] = []  # what the CSP blocked (console.js must not be)
            page.on(
                "console",
                lambda message: (
                    refused.append(message.text)
                    if "Content Security Policy" in message.text
                    else None
                ),
            )
            yield page
            assert not refused, refused
        finally:
            await browser.close()


async def _check_page(page: Page, language: str, english_heading: str | None = None) -> None:
    """The page is in `language` (right-to-left for Arabic; its heading translated) and passes
    axe-core."""
    assert await page.get_attribute("html", "lang") == language
    assert await page.get_attribute("html", "dir") == ("rtl" if language == "ar" else "ltr")
    if english_heading is not None:
        heading = (await page.text_content("h1") or "").strip()
        assert (heading == english_heading) == (language == "en"), heading
    violations = await accessibility_violations(page)
    assert not violations, describe(violations)


def _room_with_a_message(server: BastionServer) -> str:
    """alice's room with one message, made over the client API."""
    server.create_user("alice")
    with httpx.Client(base_url=server.base_url, timeout=10, trust_env=False) as http:
        login = http.post(
            "/_matrix/client/v3/login",
            json={"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "alice"},
                  "password": PASSWORD},
        )  # fmt: skip
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        room = http.post("/_matrix/client/v3/createRoom", json={"name": "Ward"}, headers=auth)
        assert room.status_code == 200, room.text
        room_id: str = room.json()["room_id"]
        sent = http.put(
            f"/_matrix/client/v3/rooms/{quote(room_id)}/send/m.room.message/t1",
            json={"msgtype": "m.text", "body": "hello"},
            headers=auth,
        )
        assert sent.status_code == 200, sent.text
    return room_id


async def _place_and_release_a_hold(page: Page, base: str, language: str) -> None:
    await page.goto(f"{base}/admin/compliance/holds")
    await _check_page(page, language, "Legal holds")
    await page.fill("#hold-case", f"case-{language}")
    await page.fill("#hold-reason", "court order")
    await page.fill("#hold-users", "@alice:test.bastion")
    await page.click("form[action='/admin/compliance/holds'] button[type=submit]")
    await page.wait_for_url(f"{base}/admin/compliance/holds")
    assert await page.locator("td:first-child bdi", has_text=f"case-{language}").count() == 1
    await page.click("a[href$='/release']")
    await page.wait_for_url("**/release")
    await _check_page(page, language, "Release a hold")
    await page.click("form[action$='/release'] button[type=submit]")
    await page.wait_for_url(f"{base}/admin/compliance/holds")
    assert await page.locator("a[href$='/release']").count() == 0  # released: nothing to release


async def _export_and_download(
    page: Page, base: str, room_id: str, language: str, tmp: Path
) -> None:
    await page.goto(f"{base}/admin/compliance/exports")
    await _check_page(page, language, "Exports")
    await page.fill("#export-rooms", room_id)
    await page.select_option("#export-format", "csv")
    await page.click("form[action='/admin/compliance/exports'] button[type=submit]")
    await page.wait_for_url(f"{base}/admin/compliance/exports/*")
    # console.js polls the status every second and reloads the page once the job is done.
    await page.wait_for_selector("a[href$='/download']")
    assert await page.get_attribute("#export-progress", "value") == "1.0"
    await _check_page(page, language)
    async with page.expect_download() as download_info:
        await page.click("a[href$='/download']")
    target = tmp / f"export-{language}.zip"
    await (await download_info.value).save_as(target)
    with zipfile.ZipFile(target) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["rooms"] == [room_id]
    assert await page.locator("table bdi", has_text="conversations.csv").count() == 1


async def _review_queue_and_audit_chain(page: Page, base: str, language: str) -> None:
    await page.goto(f"{base}/admin/compliance/dlp")
    await _check_page(page, language, "DLP review queue")
    await page.goto(f"{base}/admin/audit?action=hold.place")
    await _check_page(page, language, "Audit log")
    assert await page.locator("td bdi", has_text="hold.place").count() == 1
    await page.click("form[action='/admin/audit/verify'] button[type=submit]")
    await page.wait_for_selector(".chain-intact")
    await _check_page(page, language)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_holds_exports_and_audit_in_the_browser(
    bastion_server: BastionServer, tmp_path: Path, language: str
) -> None:
    """Place and release a hold, start an export and see it finish, download it, read the
    review queue and verify the audit chain: in one language, axe-core on every page."""
    bastion_server.create_user("root", admin=True)
    room_id = _room_with_a_message(bastion_server)
    base = bastion_server.base_url
    async with _page() as page:
        await sign_in(page, base, "root", PASSWORD)
        await choose_language(page, language)
        await _place_and_release_a_hold(page, base, language)
        await _export_and_download(page, base, room_id, language, tmp_path)
        await _review_queue_and_audit_chain(page, base, language)
