"""Signing in to the console with the organisation's identity provider (console/sso_signin.py):
the console is a client of the server's SSO flow, its login token taken once for an admin only,
and the round trip bound to the browser that started it (login CSRF). A loopback OIDC provider
(tests/oidc_provider.py) signs the person in; the browser is one cookie jar."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bastion.config import DatabaseConfig
from bastion.services.audit.reader import AuditQuery
from tests.api import test_sso
from tests.conftest import OPERATOR, Homeserver, homeserver_with
from tests.console.client import ConsoleClient
from tests.oidc_provider import OidcTestProvider

idp = test_sso.idp  # a provider on loopback, and `hs` configured with it


@pytest.fixture
def config_overrides(idp: OidcTestProvider) -> dict[str, Any]:
    # No client prefix is trusted: the console's own return address must be, by itself.
    return {"sso": test_sso.SsoConfig(providers=(test_sso.provider_config(idp.issuer),))}


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def _to_done_page(browser: ConsoleClient, next_path: str = "") -> str:
    """From the sign-in page's provider button to the URL the flow sends the browser back to."""
    page = await browser.get("/login" + (f"?next={next_path}" if next_path else ""))
    assert "Sign in with <bdi>Corporate</bdi>" in page.text
    start = await browser.get("/login/sso/corp" + (f"?next={next_path}" if next_path else ""))
    assert start.status_code == 303
    assert "bastion_console_sso" in browser.http.cookies
    to_idp = await browser.http.get(start.headers["location"])
    callback = await browser.http.get(await test_sso.through_idp(to_idp))
    assert callback.status_code == 302, callback.text  # trusted: no confirmation page
    back = urlsplit(callback.headers["location"])
    assert back.path == "/admin/login/sso/done"
    return _path(callback.headers["location"])


async def test_an_admin_signs_in_with_the_identity_provider(
    hs: Homeserver, browser: ConsoleClient, idp: OidcTestProvider
) -> None:
    await hs.create_user("alice", admin=True)
    done_url = await _to_done_page(browser, "/admin/people")
    done = await browser.http.get(done_url)
    assert done.status_code == 200
    # A page that moves on by itself (a same-site navigation, so the Strict cookie goes along).
    assert '<meta http-equiv="refresh" content="0; url=/admin/people">' in done.text
    assert "bastion_console_sso" not in browser.http.cookies
    people = await browser.get("/people")
    assert people.status_code == 200
    assert "Signed in as <bdi>@alice:test.bastion</bdi>" in people.text
    records = await hs.runtime.services.audit_log.list(
        OPERATOR, AuditQuery(action="console.login", target="@alice:test.bastion")
    )
    assert [r.outcome for r in records] == ["success"]
    assert json.loads(records[0].details)["method"] == "sso:corp"
    # The token is used up: the same return address, state and all, signs nobody in again.
    state = parse_qs(urlsplit(done_url).query)["state"][0]
    browser.http.cookies.set("bastion_console_sso", state, path="/admin")
    again = await browser.http.get(done_url)
    assert again.status_code == 403
    assert 'name="signin_token"' in again.text  # the sign-in page, with the reason


async def test_a_person_who_is_not_an_admin_gets_no_session(
    hs: Homeserver, browser: ConsoleClient, idp: OidcTestProvider
) -> None:
    await hs.create_user("alice")
    done = await browser.http.get(await _to_done_page(browser))
    assert done.status_code == 403
    assert "You signed in with your organisation's account, but no session" in done.text
    assert "bastion_console" not in browser.http.cookies
    records = await hs.runtime.services.audit_log.list(
        OPERATOR, AuditQuery(action="console.login", target="@alice:test.bastion")
    )
    assert [r.outcome for r in records] == ["failure"]


async def test_the_return_address_works_only_in_the_browser_that_started(
    hs: Homeserver, browser: ConsoleClient, idp: OidcTestProvider
) -> None:
    """Login CSRF: an admin's token, delivered to another browser (a link an attacker sends),
    signs that browser into nothing; and the wrong state is refused like a missing one."""
    await hs.create_user("alice", admin=True)
    done_url = await _to_done_page(browser)
    victim = ConsoleClient(hs)
    try:
        refused = await victim.http.get(done_url)
        assert refused.status_code == 403
        assert "bastion_console" not in victim.http.cookies
    finally:
        await victim.aclose()
    browser.http.cookies.set("bastion_console_sso", "another-state", path="/admin")
    assert (await browser.http.get(done_url)).status_code == 403
    assert (await browser.get("/people")).status_code in (303, 307)  # still signed out


async def test_an_unknown_provider_is_a_readable_404(browser: ConsoleClient) -> None:
    missing = await browser.get("/login/sso/nope")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")


async def test_without_sso_the_sign_in_page_offers_only_the_password(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    async with homeserver_with(tmp_path, database_config) as plain:
        browser = ConsoleClient(plain)
        try:
            page = await browser.get("/login")
            assert "Sign in with" not in page.text
            assert (await browser.get("/login/sso/corp")).status_code == 404
            done = await browser.http.get("/admin/login/sso/done?state=x&loginToken=y")
            assert done.status_code == 403
        finally:
            await browser.aclose()
