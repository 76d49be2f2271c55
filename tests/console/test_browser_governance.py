"""The rooms, reports and policy pages in a real browser against a real `bastion serve`, in
English, Arabic and Polish (issue #16, "What it must show"):

- "export the inventory as XLSX and open it with openpyxl";
- add a person to a private room from its page, and see the room in their matrix-nio sync;
- the storage page and its deletion of old files, through the confirmation page;
- the largest rooms, and a room's old messages deleted from its page (a history purge);
- "remove a reported message and see it redacted for a matrix-nio member";
- "change max admins and see a power-level change refused";
- "The same flows in Arabic (the page is `dir="rtl"` ...) and Polish";
- "an accessibility pass ... with axe-core run in the browser tests, no serious violations".

Pages are driven by element IDs, names and URLs, never by their (translated) words. The server
is the module's `console_server`, so each language's run has its own users and room.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import openpyxl
import pytest
from nio import (
    AsyncClient,
    JoinResponse,
    RoomCreateResponse,
    RoomInviteResponse,
    SyncResponse,
)
from playwright.async_api import Page

from tests.clients.nio_fixtures import NIO_CONFIG, log_in, nio_request, send
from tests.clients.server import BastionServer
from tests.console.browser import accessibility_violations, choose_language, describe

LANGUAGES = ["en", "ar", "pl"]


@pytest.fixture
async def nio_users() -> AsyncIterator[list[AsyncClient]]:
    """The nio clients a test makes, closed afterwards."""
    clients: list[AsyncClient] = []
    try:
        yield clients
    finally:
        for client in clients:
            await client.close()


async def _nio(server: BastionServer, clients: list[AsyncClient], name: str) -> AsyncClient:
    server.create_user(name)
    client = AsyncClient(server.base_url, server.user_id(name), config=NIO_CONFIG)
    clients.append(client)
    await log_in(client, f"{name}'s laptop")
    return client


async def _check(page: Page, language: str) -> None:
    """The page is in `language` (right-to-left for Arabic) and passes axe-core."""
    assert await page.get_attribute("html", "lang") == language
    assert await page.get_attribute("html", "dir") == ("rtl" if language == "ar" else "ltr")
    violations = await accessibility_violations(page)
    assert not violations, describe(violations)


async def _export_xlsx(page: Page, base: str, tmp_path: Path, room_id: str, language: str) -> None:
    await page.goto(f"{base}/admin/rooms")
    await _check(page, language)
    async with page.expect_download() as download_info:
        await page.click("a[href*='format=xlsx']")
    target = tmp_path / "rooms.xlsx"
    await (await download_info.value).save_as(target)
    sheet = openpyxl.load_workbook(target).active
    assert sheet is not None
    assert room_id in [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    await page.goto(f"{base}/admin/rooms/{quote(room_id, safe='')}")
    await _check(page, language)


async def _add_person(page: Page, base: str, room_id: str, user_id: str, language: str) -> None:
    """From the room's page: the add form, its confirmation, back on the room's page."""
    room_page = f"{base}/admin/rooms/{quote(room_id, safe='')}"
    await page.goto(room_page)
    await page.fill("#add_user_id", user_id)
    await page.click("form.add-member button[type=submit]")
    await page.wait_for_url(f"{room_page}/add?*")
    await _check(page, language)
    await page.click("form.confirm button[type=submit]")
    await page.wait_for_url(room_page)
    await page.wait_for_selector(f"td bdi:text-is('{user_id}')")  # now among the members


async def _clean_up_storage(page: Page, base: str, language: str) -> None:
    """The storage page, its form, its confirmation, back with the count. The day is
    yesterday: files uploaded by this run's tests stay."""
    await page.goto(f"{base}/admin/storage")
    await _check(page, language)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    await page.fill("#before", yesterday)
    await page.click("form.cleanup button[type=submit]")
    await page.wait_for_url(f"{base}/admin/storage/delete?*")
    await _check(page, language)
    await page.click("form.confirm button[type=submit]")
    await page.wait_for_url(f"{base}/admin/storage")
    await page.wait_for_selector(".flash")


async def _purge_from_largest_rooms(
    page: Page, base: str, room_id: str, reader: AsyncClient, event_id: str, language: str
) -> None:
    """The largest rooms, one room's page, its old messages deleted through the confirmation:
    the reader's client no longer finds the old message once the worker ran."""
    await page.goto(f"{base}/admin/storage/rooms")
    await _check(page, language)
    room_page = f"{base}/admin/rooms/{quote(room_id, safe='')}"
    await page.click(f"a[href='{room_page.removeprefix(base)}']")
    await page.wait_for_url(room_page)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    await page.fill("#purge_before", tomorrow)
    await page.click("form.purge-history button[type=submit]")
    await page.wait_for_url(f"{room_page}/purge?*")
    await _check(page, language)
    await page.click("form.confirm button[type=submit]")
    await page.wait_for_url(room_page)
    await _check(page, language)
    path = f"/_matrix/client/v3/rooms/{quote(room_id)}/event/{quote(event_id)}"
    for _ in range(80):  # bounded: the worker is woken by the request
        status, _seen = await nio_request(reader, "GET", path)
        if status == 404:
            break
        await asyncio.sleep(0.25)
    assert status == 404


async def _set_policy(page: Page, base: str, moderator: str, language: str) -> None:
    await page.goto(f"{base}/admin/policy")
    await _check(page, language)
    assert await page.get_attribute("#aup_ar", "dir") == "rtl"
    await page.fill("#moderator", moderator)
    await page.fill("#max_admins", "1")
    await page.click("form.policy button[type=submit]")
    await page.wait_for_url(f"{base}/admin/policy")
    assert await page.input_value("#max_admins") == "1"


async def _remove_reported(page: Page, base: str, reporter: str, language: str) -> None:
    await page.goto(f"{base}/admin/reports")
    await _check(page, language)
    row = page.locator("tbody tr", has=page.locator(f"bdi:text-is('{reporter}')"))
    await row.locator("a[href^='/admin/reports/']").click()
    await page.wait_for_selector("ol.timeline li.reported")
    await _check(page, language)
    report_path = page.url.removeprefix(base)
    await page.click(f"a[href='{report_path}/remove']")
    await _check(page, language)
    await page.fill("#reason", "abusive")
    await page.click("form.confirm button[type=submit]")
    await page.wait_for_url(f"{base}{report_path}")
    await page.wait_for_selector("ol.timeline li.reported .redacted")


async def _remove_persons_messages(
    page: Page, base: str, author: AsyncClient, reader: AsyncClient, room_id: str,
    language: str,
) -> None:  # fmt: skip
    """A person's page, their messages counted and removed through the confirmation: the
    reader's client then sees the message redacted once the worker ran."""
    event_id = await send(author, room_id, "m.room.message", {"msgtype": "m.text", "body": "spam"})
    person = f"{base}/admin/people/{quote(author.user_id, safe='')}"
    await page.goto(person)
    await page.click(f"a[href='{person.removeprefix(base)}/remove-messages']")
    await page.wait_for_url(f"{person}/remove-messages")
    await _check(page, language)
    await page.fill("#reason", "spam")
    await page.click("form.confirm button[type=submit]")
    await page.wait_for_url(f"{base}/admin/redactions/*")
    await _check(page, language)
    path = f"/_matrix/client/v3/rooms/{quote(room_id)}/event/{quote(event_id)}"
    for _ in range(80):  # bounded: the worker is woken by the queued job
        status, seen = await nio_request(reader, "GET", path)
        if status == 200 and seen["content"] == {}:
            break
        await asyncio.sleep(0.25)
    assert (status, seen["content"]) == (200, {})


@pytest.mark.parametrize("language", LANGUAGES)
async def test_rooms_reports_and_policy_in_the_browser(
    admin_page: Page,
    console_server: BastionServer,
    nio_users: list[AsyncClient],
    tmp_path: Path,
    language: str,
) -> None:
    """Export, remove a reported message, limit admins: the three flows in one language."""
    server, page, base = console_server, admin_page, console_server.base_url
    moderator = server.create_user(f"moderator_{language}")
    alice = await _nio(server, nio_users, f"alice_{language}")
    bob = await _nio(server, nio_users, f"bob_{language}")
    created = await alice.room_create(name=f"Ward {language}", topic="No patient names here")
    assert isinstance(created, RoomCreateResponse), created
    room_id = created.room_id
    assert isinstance(await alice.room_invite(room_id, bob.user_id), RoomInviteResponse)
    assert isinstance(await bob.join(room_id), JoinResponse)
    event_id = await send(alice, room_id, "m.room.message", {"msgtype": "m.text", "body": "rude"})
    status, body = await nio_request(
        bob, "POST", f"/_matrix/client/v3/rooms/{quote(room_id)}/report/{quote(event_id)}",
        {"reason": "offensive"},
    )  # fmt: skip
    assert status == 200, body

    await choose_language(page, language)
    await _export_xlsx(page, base, tmp_path, room_id, language)
    carol = await _nio(server, nio_users, f"carol_{language}")
    await _add_person(page, base, room_id, carol.user_id, language)
    synced = await carol.sync(timeout=0)
    assert isinstance(synced, SyncResponse), synced
    assert room_id in synced.rooms.join
    await _clean_up_storage(page, base, language)
    await _set_policy(page, base, moderator, language)
    await _remove_reported(page, base, bob.user_id, language)

    status, seen = await nio_request(
        bob, "GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/event/{quote(event_id)}"
    )
    assert status == 200, seen
    assert seen["content"] == {}  # redacted, as bob's client sees it

    # max_admins is 1 and alice (the creator) is already the room's admin.
    status, refused = await nio_request(
        alice, "PUT", f"/_matrix/client/v3/rooms/{quote(room_id)}/state/m.room.power_levels/",
        {"users": {bob.user_id: 100}},
    )  # fmt: skip
    assert status == 403, refused
    assert refused["errcode"] == "M_FORBIDDEN"
    assert "at most 1 admins" in refused["error"]
    await _remove_persons_messages(page, base, carol, bob, room_id, language)
    await _purge_from_largest_rooms(page, base, room_id, bob, event_id, language)
