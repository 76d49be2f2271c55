"""The console's security: sessions, CSRF, admins only, headers, cookies, idle timeout.

The requirements are issue #16's: "Sign in with an admin's Matrix credentials; a server-side
session in an HttpOnly, SameSite=Strict cookie (Secure behind TLS), CSRF token on every form, a
strict Content-Security-Policy (no inline script), idle timeout, logout; a non-admin gets a clear
refusal; throttled like /login."
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.routing import Route

from bastion.config import DatabaseConfig, ListenConfig
from bastion.console.headers import CONTENT_SECURITY_POLICY
from bastion.console.routes import console_routes
from bastion.services.admin.users import UserChanges
from bastion.services.audit.reader import AuditQuery
from tests.conftest import OPERATOR, Homeserver, homeserver_with
from tests.console.client import ConsoleClient

# Pages that must work without a session: signing in (with a password or an identity provider:
# tests/console/test_sso_signin.py covers those two), and choosing its language.
PUBLIC = {"/login", "/login/sso/{idpId}", "/login/sso/done", "/language/{language}"}


def _every_route() -> list[tuple[str, str]]:
    found = []
    for route in console_routes():
        if not isinstance(route, Route) or route.path in PUBLIC:
            continue
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        found += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


async def test_no_page_or_action_without_a_session(hs: Homeserver, browser: ConsoleClient) -> None:
    """The issue: "No page or action without a session": every console route, GET or POST, sends a
    browser without a session to the sign-in page and does nothing."""
    routes = _every_route()
    assert ("GET", "/") in routes
    assert ("POST", "/people/new") in routes
    for method, path in routes:
        resp = await browser.http.request(method, "/admin" + path, data={"csrf_token": "x"})
        assert resp.status_code == 303, (method, path, resp.status_code)
        assert resp.headers["location"].startswith("/admin/login"), (method, path)
    # ... and a forged or stale cookie is no session either.
    browser.http.cookies.set("bastion_console", "forged", path="/admin")
    assert (await browser.get("/people")).status_code == 303


async def test_csrf_token_mismatch_is_refused(hs: Homeserver, console: ConsoleClient) -> None:
    """The issue: "CSRF token on every form": a POST without the session's token is refused
    with a 403 page, and nothing is done."""
    for token in ("", "not-the-token"):
        resp = await console.post("/people/new", {"csrf_token": token, "localpart": "eve"})
        assert resp.status_code == 403
        assert 'lang="en"' in resp.text
        assert "nothing was done" in resp.text
    assert (await console.get("/people?q=eve")).text.count("@eve:") == 0
    resp = await console.post("/people/new", {"localpart": "eve"})
    assert resp.status_code == 200
    assert "@eve:test.bastion" in resp.text


async def test_a_non_admin_is_refused_and_audited(hs: Homeserver, browser: ConsoleClient) -> None:
    """The issue: "A non-admin gets a clear refusal": the right password of a non-admin opens
    no session."""
    await hs.create_user("bob")
    resp = await browser.sign_in("bob")
    assert resp.status_code == 403
    assert "not a server admin" in resp.text
    assert "bastion_console" not in browser.http.cookies
    assert (await browser.get("/")).status_code == 303
    records = await hs.runtime.services.audit_log.list(OPERATOR, AuditQuery(action="console.login"))
    assert [(r.target, r.outcome) for r in records] == [("@bob:test.bastion", "failure")]


async def test_a_wrong_password_is_refused(hs: Homeserver, browser: ConsoleClient) -> None:
    await hs.create_user("root", admin=True)
    resp = await browser.sign_in("root", "wrong password")
    assert resp.status_code == 403
    assert "Wrong user ID or password" in resp.text
    assert "bastion_console" not in browser.http.cookies


async def test_the_csp_header_is_on_every_response(hs: Homeserver, console: ConsoleClient) -> None:
    """The issue: "A strict Content-Security-Policy (no inline script)" on pages, errors,
    redirects and static files, with nosniff and a same-origin referrer policy."""
    for path in ("/", "/people", "/people/new", "/login", "/no-such-page", "/static/console.css"):
        resp = await console.get(path)
        assert resp.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["referrer-policy"] == "same-origin"
        if resp.headers.get("content-type", "").startswith("text/html"):
            assert "<script>" not in resp.text, path
            assert " style=" not in resp.text, path
    assert (await console.get("/no-such-page")).status_code == 404


async def test_the_session_cookie_flags(hs: Homeserver, admin_id: str) -> None:
    """The issue: "An HttpOnly, SameSite=Strict cookie (Secure behind TLS)": Secure over
    https, or when a trusted proxy says so (X-Forwarded-Proto); never because an untrusted
    client says so."""
    for base_url, secure in (("http://bastion.test", False), ("https://bastion.test", True)):
        client = ConsoleClient(hs, base_url)
        try:
            resp = await client.sign_in("root")
        finally:
            await client.aclose()
        cookie = next(v for v in resp.headers.get_list("set-cookie") if "bastion_console=" in v)
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite=strict", "path=/admin"} <= flags
        assert ("secure" in flags) is secure, base_url
    forged = ConsoleClient(hs)
    try:
        resp = await forged.sign_in("root", headers={"x-forwarded-proto": "https"})
    finally:
        await forged.aclose()
    assert "secure" not in resp.headers["set-cookie"].lower()


async def test_idle_timeout_ends_the_session(hs: Homeserver, console: ConsoleClient) -> None:
    """The issue: "Idle timeout": a session used within 30 minutes lives on; one idle longer
    is ended."""
    for _ in range(3):
        hs.clock.advance(20 * 60)
        assert (await console.get("/people")).status_code == 200
    hs.clock.advance(31 * 60)
    resp = await console.get("/people")
    assert resp.status_code == 303
    assert resp.headers["location"] == "/admin/login?next=/admin/people"
    assert (await console.get("/")).status_code == 303


async def test_logout_ends_the_session_and_its_device(
    hs: Homeserver, console: ConsoleClient, admin_id: str
) -> None:
    """The issue: "Logout": the session and the console's device are gone; both are audited."""
    devices = await hs.runtime.services.admin_user_data.list_devices(OPERATOR, admin_id)
    assert [d.display_name for d in devices] == ["Bastion admin console"]
    resp = await console.post("/logout")
    assert resp.status_code == 303
    assert resp.headers["location"] == "/admin/login"
    assert (await console.get("/")).status_code == 303
    assert await hs.runtime.services.admin_user_data.list_devices(OPERATOR, admin_id) == []
    actions = [r.action for r in await hs.runtime.services.audit_log.list(OPERATOR, AuditQuery())]
    assert "console.login" in actions
    assert "console.logout" in actions


async def test_a_demoted_admin_loses_the_session(hs: Homeserver, console: ConsoleClient) -> None:
    """The session is re-checked on every request: an admin who is no longer one is out."""
    await hs.runtime.services.admin_users.put_user(
        OPERATOR, "@root:test.bastion", UserChanges(admin=False)
    )
    assert (await console.get("/")).status_code == 303


@pytest.mark.parametrize("language", ["ar", "pl"])
async def test_language_from_the_browser_and_the_switcher(
    hs: Homeserver, admin_id: str, language: str
) -> None:
    """The language comes from Accept-Language, and the switcher on every page changes it;
    Arabic pages are right-to-left."""
    client = ConsoleClient(hs)
    try:
        page = await client.get("/login", headers={"accept-language": f"{language}, en;q=0.5"})
        assert f'lang="{language}"' in page.text
        assert ('dir="rtl"' in page.text) is (language == "ar")
        await client.get("/language/en?next=/admin/login")
        page = await client.get("/login", headers={"accept-language": language})
        assert 'lang="en" dir="ltr"' in page.text
        resp = await client.get("/language/ar?next=https://evil.example/")
        assert resp.headers["location"] == "/admin/"
    finally:
        await client.aclose()


async def test_secure_cookie_behind_a_trusted_proxy(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    """Behind TLS at a trusted reverse proxy (`X-Forwarded-Proto: https`), the cookie is Secure."""
    listen = ListenConfig(trusted_proxies=("203.0.113.7",))
    async with homeserver_with(tmp_path, database_config, listen=listen) as proxied:
        await proxied.create_user("root", admin=True)
        client = ConsoleClient(proxied)
        try:
            resp = await client.sign_in("root", headers={"x-forwarded-proto": "https"})
        finally:
            await client.aclose()
    cookie = next(v for v in resp.headers.get_list("set-cookie") if "bastion_console=" in v)
    assert "secure" in cookie.lower()
