"""Signing in to the console with an identity provider, in Chromium, against a real `bastion
serve` and a loopback OIDC provider on another site (`localhost` against the server's
`127.0.0.1`): the IdP's redirect back is cross-site, which is what decides which cookies a
real browser sends. The round trip's state cookie (SameSite=Lax) must come back to the done
page, and the session cookie (SameSite=Strict) set there must reach the next page, which is
why the done page moves on by itself instead of redirecting (console/sso_signin.py).
"""

from __future__ import annotations

import html
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright

from bastion.clock import FakeClock
from tests.clients.server import BastionServer, set_toml_line
from tests.console.browser import CHROMIUM_VAR, TIMEOUT_MS, chromium_path
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcTestProvider


class _OtherSiteIdp(OidcTestProvider):
    """The test provider named by `localhost` (another site than the server's 127.0.0.1),
    which, as a real IdP's sign-in page, has the person act on its own page: the way back to
    the server is then a navigation the IdP's site starts, so the browser treats it as
    cross-site (a redirect straight from the authorize request would be the server's own)."""

    @property
    def issuer(self) -> str:
        return super().issuer.replace("127.0.0.1", "localhost")

    def _authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        _status, headers, _body = super()._authorize(query)
        back = html.escape(headers["Location"])
        page = f'<!doctype html><title>IdP</title><a id="continue" href="{back}">Continue</a>'
        return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()


@pytest.fixture
def idp() -> Iterator[OidcTestProvider]:
    provider = _OtherSiteIdp(FakeClock(start_ms=int(time.time() * 1000)))  # ID tokens: now
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture
def sso_server(tmp_path: Path, idp: OidcTestProvider) -> Iterator[BastionServer]:
    if chromium_path() is None:
        pytest.skip(f"{CHROMIUM_VAR} is not set (run under scripts/with-chromium)")
    server = BastionServer(tmp_path / "server")
    provider = (
        f'{{id = "corp", name = "Corporate", issuer = "{idp.issuer}", '
        f'client_id = "{CLIENT_ID}", client_secret = "{CLIENT_SECRET}"}}'
    )
    text = server.config_path.read_text(encoding="utf-8")
    server.config_path.write_text(set_toml_line(text, "sso", "providers", f"[{provider}]"))
    server.create_user("alice", admin=True)  # whom the provider signs in
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def tab(sso_server: BastionServer) -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path())
        try:
            page = await (await browser.new_context(locale="en-GB")).new_page()
            page.set_default_timeout(TIMEOUT_MS)
            yield page
        finally:
            await browser.close()


async def test_an_admin_signs_in_through_the_identity_provider_in_chromium(
    tab: Page, sso_server: BastionServer, idp: OidcTestProvider
) -> None:
    base = sso_server.base_url
    blocked: list[str] = []
    tab.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    await tab.goto(f"{base}/admin/login?next=/admin/people")
    await tab.click("text=Sign in with Corporate")
    await tab.wait_for_url(f"{idp.issuer}/authorize*")
    await tab.click("#continue")  # at the provider: the person signs in there
    await tab.wait_for_url(f"{base}/admin/people")
    assert "@alice:test.bastion" in await tab.inner_text(".signed-in-as")
    assert len(idp.authorizations) == 1  # it went through the provider, once
    assert await tab.context.cookies(f"{base}/admin/")  # the session cookie is there
    assert not blocked, blocked
