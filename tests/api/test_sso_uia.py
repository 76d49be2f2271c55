"""User-Interactive Auth by single sign-on, from the spec's text
(client-server-api#sso-during-user-interactive-authentication and #fallback): a user who signs in
with their identity provider confirms a sensitive request (here removing a device, as Element's
"sign out of other sessions" does) without a password, through the fallback page.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Route, async_playwright

from bastion.api.sso.pages import AUTH_DONE_SCRIPT
from tests.api import test_sso
from tests.conftest import Homeserver, UserClient, errcode, homeserver_with
from tests.console.browser import TIMEOUT_MS, chromium_path
from tests.oidc_provider import OidcTestProvider

FALLBACK = "/_matrix/client/v3/auth/m.login.sso/fallback/web"
idp = test_sso.idp  # the fixtures: a provider on loopback, and `hs` configured with it
config_overrides = test_sso.config_overrides
through_idp = test_sso.through_idp


async def _second_device(hs: Homeserver, localpart: str) -> tuple[UserClient, str]:
    """The user signed in twice: the client that will remove the other device, and its ID."""
    await hs.create_user(localpart)
    first = await hs.login(localpart)
    other = await hs.login(localpart)
    return first, other.device_id


async def _challenge(user: UserClient, device_id: str, auth: Any = None) -> httpx.Response:
    body = {} if auth is None else {"auth": auth}
    return await user.delete(f"/devices/{device_id}", json=body)


async def _confirm(hs: Homeserver, session: str) -> httpx.Response:
    """The browser the client opened: the fallback page, its provider link, the IdP, the
    callback; the last page."""
    page = await hs.http.get(FALLBACK, params={"session": session})
    assert page.status_code == 200, page.text
    (href,) = re.findall(r'href="([^"]+)"', page.text)
    started = await hs.http.get(href.replace("&amp;", "&"))
    assert started.status_code == 302, started.text
    return await hs.http.get(await through_idp(started))


async def test_removing_a_device_confirmed_with_the_identity_provider(hs: Homeserver) -> None:
    """The 401 offers `m.login.sso` beside the password; the fallback page names the operation
    ("the homeserver SHOULD confirm that the user is happy for the operation to go ahead"); once
    the user signed in, the completion page runs the spec's script ("must use the following
    JavaScript"), and the request retried "with just the session ID" succeeds, once."""
    alice, other_device = await _second_device(hs, "alice")
    first = await _challenge(alice, other_device)
    assert first.status_code == 401
    challenge = first.json()
    assert challenge["flows"] == [{"stages": ["m.login.password"]}, {"stages": ["m.login.sso"]}]
    session = challenge["session"]

    page = await hs.http.get(FALLBACK, params={"session": session})
    assert "sign out and remove sessions (devices) of your account" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    done = await _confirm(hs, session)
    assert done.status_code == 200, done.text
    assert f"<script>{AUTH_DONE_SCRIPT}</script>" in done.text
    digest = base64.b64encode(hashlib.sha256(AUTH_DONE_SCRIPT.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in done.headers["content-security-policy"]

    retried = await _challenge(alice, other_device, {"session": session})
    assert retried.status_code == 200, retried.text
    devices = (await alice.get("/devices")).json()["devices"]
    assert other_device not in [d["device_id"] for d in devices]
    # Used up: the session is gone with the request it completed.
    again = await alice.post(
        "/delete_devices", json={"devices": ["ANY"], "auth": {"session": session}}
    )
    assert errcode(again) == (400, "M_UNKNOWN")


async def test_another_accounts_sign_in_confirms_nothing(
    hs: Homeserver, idp: OidcTestProvider
) -> None:
    """The guard of the spec's security considerations: whoever holds bob's access token cannot
    have it confirmed by signing in as someone else. bob's session, confirmed by alice's
    sign-in, does not pass; the password stage still works."""
    await hs.create_user("alice")
    bob, other_device = await _second_device(hs, "bob")
    session = (await _challenge(bob, other_device)).json()["session"]
    idp.username = "alice"
    assert (await _confirm(hs, session)).status_code == 200
    refused = await _challenge(bob, other_device, {"session": session})
    assert refused.status_code == 401
    assert refused.json()["session"] == session
    by_password = await _challenge(
        bob, other_device, {"type": "m.login.password", "session": session,
                            "identifier": {"type": "m.id.user", "user": "bob"},
                            "password": "correct horse battery staple"},
    )  # fmt: skip
    assert by_password.status_code == 200, by_password.text


async def test_an_unsolicited_or_unknown_confirmation_is_refused(hs: Homeserver) -> None:
    """The fallback page and its provider link need a live UIA session; the callback needs the
    browser that started it (the cookie), as for logging in."""
    for params in ({}, {"session": "made-up"}):
        page = await hs.http.get(FALLBACK, params=params)
        assert page.status_code == 400
        assert "unknown or has expired" in page.text
    unknown = await hs.http.get("/_bastion/sso/reauth/corp", params={"session": "made-up"})
    assert unknown.status_code == 400
    alice, other_device = await _second_device(hs, "alice")
    session = (await _challenge(alice, other_device)).json()["session"]
    no_idp = await hs.http.get("/_bastion/sso/reauth/elsewhere", params={"session": session})
    assert no_idp.status_code == 404
    started = await hs.http.get("/_bastion/sso/reauth/corp", params={"session": session})
    back = await through_idp(started)
    hs.http.cookies.clear()  # another browser: a link sent to the user
    assert (await hs.http.get(back)).status_code == 403
    retried = await _challenge(alice, other_device, {"session": session})
    assert retried.status_code == 401


async def test_the_explicit_stage_type_is_accepted_too(hs: Homeserver) -> None:
    """A client that names the stage (`"type": "m.login.sso"`) with the session passes as one
    that sends the session alone."""
    alice, other_device = await _second_device(hs, "alice")
    session = (await _challenge(alice, other_device)).json()["session"]
    assert (await _confirm(hs, session)).status_code == 200
    retried = await _challenge(alice, other_device, {"type": "m.login.sso", "session": session})
    assert retried.status_code == 200, retried.text


async def test_without_sso_the_password_is_the_only_stage(
    tmp_path: Path, database_config: Any
) -> None:
    """With no provider configured: no `m.login.sso` stage, and the fallback page says so."""
    async with homeserver_with(tmp_path, database_config) as plain:
        alice, other_device = await _second_device(plain, "alice")
        challenge = (await _challenge(alice, other_device)).json()
        assert challenge["flows"] == [{"stages": ["m.login.password"]}]
        page = await plain.http.get(FALLBACK, params={"session": challenge["session"]})
        assert page.status_code == 404
        assert "not configured" in page.text


@pytest.mark.skipif(chromium_path() is None, reason="needs scripts/with-chromium")
async def test_chromium_runs_the_completion_script_under_the_pages_csp(hs: Homeserver) -> None:
    """The spec's completion script must run in a real browser despite the page's strict CSP
    (it is allowed by its hash only): Chromium, given the page with its headers, calls the
    embedding client's `onAuthDone`, and reports no CSP violation (script or style)."""
    alice, other_device = await _second_device(hs, "alice")
    session = (await _challenge(alice, other_device)).json()["session"]
    done = await _confirm(hs, session)
    url = "https://bastion.test/_bastion/sso/callback"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path())
        try:
            tab = await browser.new_page()
            tab.set_default_timeout(TIMEOUT_MS)
            violations: list[str] = []
            tab.on(
                "console",
                lambda m: violations.append(m.text) if "Content Security" in m.text else None,
            )
            await tab.add_init_script("window.onAuthDone = () => { window.authDone = true; };")
            headers = {k: v for k, v in done.headers.items() if k != "content-length"}

            async def serve(route: Route) -> None:
                await route.fulfill(status=200, headers=headers, body=done.content)

            await tab.route(url, serve)
            await tab.goto(url)
            assert await tab.evaluate("() => window.authDone === true")
            assert await tab.evaluate("() => getComputedStyle(document.body).maxWidth") == "512px"
        finally:
            await browser.close()
    assert not violations, violations
