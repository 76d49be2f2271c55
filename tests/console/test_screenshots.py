"""Screenshots of the console for the docs, on demand: `scripts/console-screenshots`.

Pages: the dashboard, people, a room (`room-*`), the policy (`policy-*`) and storage
(`storage-*`).

Skipped unless BASTION_SCREENSHOTS_DIR names where to write them (the script sets it to
docs/console/). Each page is captured in English, Arabic and Polish, with a little data so the
pages are not empty.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page

from tests.clients.server import PASSWORD, BastionServer
from tests.console.browser import choose_language

SCREENSHOTS_VAR = "BASTION_SCREENSHOTS_DIR"
PEOPLE = (("amira", "Amira Haddad"), ("jan", "Jan Kowalski"), ("lena", "Lena Fischer"))


def _directory() -> Path:
    target = os.environ.get(SCREENSHOTS_VAR)
    if not target:
        pytest.skip(f"{SCREENSHOTS_VAR} is not set (run scripts/console-screenshots)")
    return Path(target)


@pytest.mark.parametrize("language", ["en", "ar", "pl"])
async def test_screenshots(admin_page: Page, console_server: BastionServer, language: str) -> None:
    directory, page, base = _directory(), admin_page, console_server.base_url
    await page.set_viewport_size({"width": 1280, "height": 860})
    for localpart, name in PEOPLE:
        if console_server.user_id(localpart) not in await _people_text(page, base):
            await page.goto(f"{base}/admin/people/new")
            await page.fill("#localpart", localpart)
            await page.fill("#displayname", name)
            await page.click("form[action='/admin/people/new'] button[type=submit]")
    if language == "en":
        await _seed_rooms(base)
    await page.goto(f"{base}/admin/")
    await choose_language(page, language)
    await page.screenshot(path=str(directory / f"dashboard-{language}.png"), full_page=True)
    await page.goto(f"{base}/admin/people")
    await page.screenshot(path=str(directory / f"people-{language}.png"), full_page=True)
    await page.goto(f"{base}/admin/rooms")
    await page.locator("main td a", has_text="Cardiology").first.click()
    await page.wait_for_selector("#members-title")
    await page.screenshot(path=str(directory / f"room-{language}.png"), full_page=True)
    await page.goto(f"{base}/admin/policy")
    await page.screenshot(path=str(directory / f"policy-{language}.png"), full_page=True)
    await page.goto(f"{base}/admin/storage")
    await page.screenshot(path=str(directory / f"storage-{language}.png"), full_page=True)


async def _people_text(page: Page, base: str) -> str:
    await page.goto(f"{base}/admin/people")
    return await page.inner_text("main")


async def _seed_rooms(base: str) -> None:
    """Two rooms with some messages, through the client API as `root` (for the chart)."""
    async with httpx.AsyncClient(base_url=f"{base}/_matrix/client/v3", trust_env=False) as http:
        login = await http.post("/login", json={
            "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "root"},
            "password": PASSWORD,
        })  # fmt: skip
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        await http.post(
            f"{base}/_matrix/media/v3/upload",
            content=b"x" * 1_250_000,
            headers={**headers, "Content-Type": "application/pdf"},
        )  # something on the storage page
        for name, count in (("Cardiology", 7), ("IT support", 4)):
            room = await http.post("/createRoom", json={"name": name}, headers=headers)
            room_id = room.json()["room_id"]
            for index in range(count):
                await http.put(
                    f"/rooms/{room_id}/send/m.room.message/{name}-{index}".replace(" ", "_"),
                    json={"msgtype": "m.text", "body": f"message {index}"},
                    headers=headers,
                )
