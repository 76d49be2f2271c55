"""Console fixtures: a signed-in console client against the in-process `hs` (fast tests), and
for the browser tests a real `bastion serve`, Chromium through Playwright and an admin's tab.

The browser fixtures skip the test unless `scripts/with-chromium` exported the browser's path;
the axe-core check is `browser.accessibility_violations`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.clients.server import PASSWORD, BastionServer
from tests.conftest import Homeserver
from tests.console.browser import CHROMIUM_VAR, TIMEOUT_MS, chromium_path, sign_in
from tests.console.client import ConsoleClient


@pytest.fixture
async def admin_id(hs: Homeserver) -> str:
    return await hs.create_user("root", admin=True)


@pytest.fixture
async def browser(hs: Homeserver) -> AsyncIterator[ConsoleClient]:
    """A console client with no session yet."""
    client = ConsoleClient(hs)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def console(browser: ConsoleClient, admin_id: str) -> ConsoleClient:
    """A console client signed in as the admin `root`."""
    resp = await browser.sign_in("root")
    assert resp.status_code == 303, resp.text
    return browser


# --- the browser tests: a real `bastion serve`, Chromium through Playwright -------------------


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BastionServer]:
    """`bastion serve` on a free loopback port with an admin `root`, for one test module."""
    if chromium_path() is None:
        pytest.skip(f"{CHROMIUM_VAR} is not set (run under scripts/with-chromium)")
    server = BastionServer(tmp_path_factory.mktemp("console-server"))
    server.create_user("root", admin=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def chromium(console_server: BastionServer) -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, closed after the test."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path())
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def page(chromium: Browser) -> AsyncIterator[Page]:
    """A fresh browser tab (its own cookies); fails the test if the CSP blocks anything."""
    context = await chromium.new_context(locale="en-GB")
    tab = await context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    blocked: list[str] = []
    tab.on(
        "console", lambda msg: blocked.append(msg.text) if "Content Security" in msg.text else None
    )
    try:
        yield tab
    finally:
        await context.close()
    assert not blocked, blocked


@pytest.fixture
async def admin_page(page: Page, console_server: BastionServer) -> Page:
    """A tab signed in to the console as the admin `root`."""
    await sign_in(page, console_server.base_url, "root", PASSWORD)
    return page
