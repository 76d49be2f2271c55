"""The integrations page in a real browser against a real `bastion serve` with a registered
bridge that cannot be reached: in English, Arabic and Polish, the page shows the bridge, its
exclusive namespace and that its transactions are failing, right-to-left in Arabic, with no
serious axe-core violation and no token on the page."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from playwright.async_api import Page

from tests.clients.server import PASSWORD, BastionServer, free_port, set_toml_line
from tests.console.browser import (
    CHROMIUM_VAR,
    accessibility_violations,
    choose_language,
    chromium_path,
    describe,
)
from tests.console.test_screenshots import SCREENSHOTS_VAR

AS_TOKEN = "browser-bridge-as-token"
HS_TOKEN = "browser-bridge-hs-token"


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BastionServer]:
    """`bastion serve` with the bridge registered at a port nothing listens on, and a room
    that invited the bridge's bot (an event it must receive: its transactions fail)."""
    if chromium_path() is None:
        pytest.skip(f"{CHROMIUM_VAR} is not set (run under scripts/with-chromium)")
    server = BastionServer(tmp_path_factory.mktemp("integrations-server"))
    registration = {
        "id": "signal-bridge",
        "url": f"http://127.0.0.1:{free_port()}",
        "as_token": AS_TOKEN,
        "hs_token": HS_TOKEN,
        "sender_localpart": "signalbot",
        "namespaces": {"users": [{"exclusive": True, "regex": "@_signal_.*"}]},
    }
    (server.directory / "signal.yaml").write_text(yaml.safe_dump(registration), "utf-8")
    text = server.config_path.read_text(encoding="utf-8")
    text = set_toml_line(text, "appservices", "registration_files", json.dumps(["signal.yaml"]))
    server.config_path.write_text(text, encoding="utf-8")
    server.create_user("root", admin=True)
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=10.0, trust_env=False) as http:
            body = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "root"},
                    "password": PASSWORD}  # fmt: skip
            token = http.post("/_matrix/client/v3/login", json=body).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            created = http.post("/_matrix/client/v3/createRoom", json={}, headers=headers)
            room_id = created.json()["room_id"]
            invite = {"user_id": f"@signalbot:{server.server_name}"}
            resp = http.post(
                f"/_matrix/client/v3/rooms/{room_id}/invite", json=invite, headers=headers
            )
            assert resp.status_code == 200, resp.text
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("language", ["en", "ar", "pl"])
async def test_the_integrations_page_in_the_browser(
    admin_page: Page, console_server: BastionServer, language: str
) -> None:
    page = admin_page
    await page.click("a[href='/admin/integrations']")  # in the navigation
    await page.wait_for_url(f"{console_server.base_url}/admin/integrations")
    if language != "en":
        await choose_language(page, language)
    assert await page.get_attribute("html", "dir") == ("rtl" if language == "ar" else "ltr")
    for _ in range(100):  # the worker's first attempt may still be under way: reload, bounded
        if await page.locator("section.card strong").count():  # "failing since ..."
            break
        await page.wait_for_timeout(100)
        await page.reload()
    else:
        raise AssertionError("the bridge's failure never showed")
    html = await page.content()
    assert "signal-bridge" in html
    assert "@_signal_.*" in html
    assert AS_TOKEN not in html
    assert HS_TOKEN not in html
    violations = await accessibility_violations(page)
    assert not violations, describe(violations)
    if target := os.environ.get(SCREENSHOTS_VAR):  # scripts/console-screenshots: for the docs
        await page.set_viewport_size({"width": 1280, "height": 860})
        await page.screenshot(path=str(Path(target) / f"integrations-{language}.png"))
