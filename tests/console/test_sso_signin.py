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

from bastion.config import ConfigError, ConsoleConfig, DatabaseConfig, validate
from bastion.services.audit.reader import AuditQuery
from tests.api import test_sso
from tests.conftest import OPERATOR, PASSWORD, Homeserver, homeserver_with, make_config
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


async def test_with_password_sign_in_off_only_the_provider_signs_admins_in(
    tmp_path: Path, database_config: DatabaseConfig, idp: OidcTestProvider
) -> None:
    """`[console] password_sign_in = false`: the page offers no password form, and a password
    posted anyway is refused before it is checked (audited), while SSO still works."""
    sso = test_sso.SsoConfig(providers=(test_sso.provider_config(idp.issuer),))
    console = ConsoleConfig(password_sign_in=False)
    async with homeserver_with(tmp_path, database_config, sso=sso, console=console) as home:
        await home.create_user("alice", admin=True)
        browser = ConsoleClient(home)
        try:
            page = await browser.get("/login")
            assert 'name="password"' not in page.text
            assert "Sign in with <bdi>Corporate</bdi>" in page.text
            # A crafted POST, its double-submit token and all, with the right password.
            browser.http.cookies.set("bastion_console_signin", "t", path="/admin")
            form = {"user": "alice", "password": PASSWORD, "next": "", "signin_token": "t"}
            refused = await browser.http.post("/admin/login", data=form)
            assert refused.status_code == 403
            assert "Password sign-in is turned off" in refused.text
            assert "bastion_console" not in browser.http.cookies
            done = await browser.http.get(await _to_done_page(browser))
            assert done.status_code == 200
            assert "Signed in as" in (await browser.get("/people")).text
        finally:
            await browser.aclose()
        records = await home.runtime.services.audit_log.list(
            OPERATOR, AuditQuery(action="console.login", target="@alice:test.bastion")
        )
        assert sorted(r.outcome for r in records) == ["failure", "success"]


def test_password_sign_in_off_needs_a_provider(tmp_path: Path) -> None:
    config = make_config(tmp_path, DatabaseConfig(), console=ConsoleConfig(password_sign_in=False))
    with pytest.raises(ConfigError, match="password_sign_in = false needs"):
        validate(config)
