"""Single sign-on with an OpenID Connect provider, from the spec's text
(client-server-api#sso-client-loginauthentication and #login, `m.login.token`), driven as a
browser would: /login/sso/redirect → the IdP (tests/oidc_provider.py, on 127.0.0.1) → the
callback with the cookie → a trusted client's redirectUrl, or the confirmation page → `POST
/login` with the token → whoami. Then what must be refused, each on its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import msgspec
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from bastion.clock import FakeClock
from bastion.config import DatabaseConfig, RateLimit, RateLimitsConfig, SsoConfig, SsoProvider
from bastion.services.sso.flow import SESSION_LIFETIME_MS
from bastion.services.sso.login_tokens import LOGIN_TOKEN_LIFETIME_MS
from bastion.services.sso.provider import METADATA_MAX_AGE_S, METADATA_RETRY_S
from tests.conftest import OPERATOR, Homeserver, client_path, errcode, homeserver_with
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcTestProvider

TRUSTED = "https://chat.example.org/"
REDIRECT = "/login/sso/redirect"
CALLBACK = "/_bastion/sso/callback"


@pytest.fixture
def idp(clock: FakeClock) -> Iterator[OidcTestProvider]:
    provider = OidcTestProvider(clock)
    provider.start()
    yield provider
    provider.stop()


def provider_config(issuer: str, idp_id: str = "corp", name: str = "Corporate") -> SsoProvider:
    return SsoProvider(
        id=idp_id, name=name, issuer=issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )


@pytest.fixture
def config_overrides(idp: OidcTestProvider) -> dict[str, Any]:
    return {"sso": SsoConfig(providers=(provider_config(idp.issuer),), client_redirects=(TRUSTED,))}


async def start(hs: Homeserver, redirect_url: str, path: str = REDIRECT) -> httpx.Response:
    """The client sends the browser to /login/sso/redirect; Bastion answers 302 to the IdP."""
    return await hs.http.get(client_path(path), params={"redirectUrl": redirect_url})


async def through_idp(started: httpx.Response) -> str:
    """The browser at the IdP, which signs the user in and redirects to the callback."""
    assert started.status_code == 302, started.text
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(started.headers["location"])
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    return f"{back.path}?{back.query}"


async def sign_in(hs: Homeserver, redirect_url: str = TRUSTED) -> httpx.Response:
    """The whole browser part; returns the callback's answer."""
    return await hs.http.get(await through_idp(await start(hs, redirect_url)))


def login_token_of(url: str) -> str:
    (token,) = parse_qs(urlsplit(url).query)["loginToken"]
    return token


async def token_login(hs: Homeserver, token: str, **extra: Any) -> httpx.Response:
    return await hs.http.post(
        client_path("/login"), json={"type": "m.login.token", "token": token, **extra}
    )


async def test_login_flows_offer_sso_with_its_provider_and_token_login(hs: Homeserver) -> None:
    """GET /login: "the homeserver includes a flow with "type": "m.login.sso"", its
    `identity_providers` with `id` and `name`; `m.login.token` is what the client then uses."""
    flows = (await hs.http.get(client_path("/login"))).json()["flows"]
    types = [flow["type"] for flow in flows]
    assert types == ["m.login.password", "m.login.sso", "m.login.token"]
    assert flows[1]["identity_providers"] == [{"id": "corp", "name": "Corporate"}]


async def test_a_providers_brand_and_icon_are_listed(
    tmp_path: Path, database_config: DatabaseConfig, idp: OidcTestProvider
) -> None:
    """definitions/sso_login_flow: `brand` ("clients should prefer the brand over the icon")
    and `icon` (an mxc:// URI), only when configured."""
    branded = msgspec.structs.replace(
        provider_config(idp.issuer), brand="google", icon="mxc://test.bastion/logo"
    )
    sso = SsoConfig(providers=(branded, provider_config(idp.issuer, "plain", "Plain")))
    async with homeserver_with(tmp_path, database_config, sso=sso) as home:
        flows = (await home.http.get(client_path("/login"))).json()["flows"]
    assert flows[1]["identity_providers"] == [
        {"id": "corp", "name": "Corporate", "brand": "google", "icon": "mxc://test.bastion/logo"},
        {"id": "plain", "name": "Plain"},
    ]


async def test_the_whole_flow_to_a_trusted_client(hs: Homeserver, idp: OidcTestProvider) -> None:
    """Spec: "The homeserver adds a query parameter of `loginToken` ... to the `redirectUrl`
    ... If it already includes one or more `loginToken` parameters, they should be removed";
    the client "exchanges the login token for an access token" with `m.login.token`."""
    alice = await hs.create_user("alice")
    started = await start(hs, TRUSTED + "?client=web&loginToken=stale")
    cookie = started.headers["set-cookie"]
    assert re.match(r"bastion_sso_[0-9a-f]{16}=", cookie)
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert f"Path={CALLBACK}" in cookie
    assert "Secure" not in cookie
    callback = await hs.http.get(await through_idp(started))
    (asked,) = idp.authorizations
    assert asked["response_type"] == "code"
    assert asked["client_id"] == CLIENT_ID
    assert asked["redirect_uri"] == "http://127.0.0.1:8008" + CALLBACK
    assert asked["scope"] == "openid profile email"
    assert asked["code_challenge_method"] == "S256"
    assert asked["nonce"]
    assert asked["state"]
    (exchange,) = idp.token_requests  # PKCE verifier sent (the IdP checked it against the S256)
    assert exchange["code_verifier"]
    assert "client_secret" not in exchange
    assert callback.status_code == 302
    location = callback.headers["location"]
    assert location.startswith(TRUSTED + "?client=web&loginToken=")
    assert location.count("loginToken") == 1
    name = cookie.split("=", 1)[0]
    assert f'{name}=""' in callback.headers["set-cookie"]  # this sign-in's cookie, cleared
    token = login_token_of(location)
    login = await token_login(hs, token, initial_device_display_name="Element Web")
    assert login.status_code == 200, login.text
    session = login.json()
    assert session["user_id"] == alice
    whoami = await hs.http.get(
        client_path("/account/whoami"),
        headers={"Authorization": f"Bearer {session['access_token']}"},
    )
    assert whoami.json()["user_id"] == alice
    assert whoami.json()["device_id"] == session["device_id"]
    # "Single use": the same token again is "not valid": 403 M_FORBIDDEN.
    assert errcode(await token_login(hs, token)) == (403, "M_FORBIDDEN")
    rows = await hs.runtime.db.fetch_all(
        "SELECT action, target, outcome, details FROM audit_log"
        " WHERE action IN ('login.success', 'login.failure') ORDER BY seq"
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("login.success", alice, "success"),
        ("login.failure", None, "failure"),
    ]
    assert json.loads(rows[0][3])["method"] == "sso:corp"


async def test_an_untrusted_redirect_gets_a_confirmation_page_that_escapes_it(
    hs: Homeserver,
) -> None:
    """Spec: "Homeservers SHOULD confirm with the user that they are happy to grant access to their
    matrix account to the site named in the `redirectUrl`"."""
    await hs.create_user("alice")
    hostile = 'https://evil.example/"><script>alert(1)</script>?a=<b>'
    page = await sign_in(hs, hostile)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src" not in csp  # no script at all
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in page.text
    assert "<b>" not in page.text
    assert "evil.example" in page.text
    (href,) = [part.split('"', 1)[0] for part in page.text.split('href="')[1:]]
    assert href.startswith("https://evil.example/&#34;&gt;&lt;script&gt;")
    token = login_token_of(html.unescape(href))
    assert (await token_login(hs, token)).status_code == 200  # after the user's "Continue"


async def test_redirect_endpoint_refusals(hs: Homeserver) -> None:
    """`redirectUrl` is required; `idpId` must be one of the `identity_providers`."""
    assert errcode(await hs.http.get(client_path(REDIRECT))) == (400, "M_MISSING_PARAM")
    unknown = await start(hs, TRUSTED, REDIRECT + "/nope")
    assert errcode(unknown) == (404, "M_NOT_FOUND")
    for script in ("javascript:alert(1)", "data:text/html,hi", "JavaScript:x", "https://"):
        assert errcode(await start(hs, script)) == (400, "M_INVALID_PARAM"), script
    assert (await start(hs, TRUSTED, REDIRECT + "/corp")).status_code == 302
    app = await start(hs, "im.fluffychat://login")  # an app's own scheme is a client too
    assert app.status_code == 302


async def test_callback_needs_a_live_state_and_the_browsers_cookie(
    hs: Homeserver, clock: FakeClock
) -> None:
    """Spec: "Guard against unsolicited authentication attempts by tracking pending requests ...
    a cookie ... which is checked and cleared when handling the callback"."""
    await hs.create_user("alice")
    no_state = await hs.http.get(CALLBACK, params={"code": "x"})
    assert no_state.status_code == 400
    assert "no state" in no_state.text
    unknown = await hs.http.get(CALLBACK, params={"code": "x", "state": "made-up"})
    assert unknown.status_code == 400
    assert "unknown" in unknown.text
    # Started in another browser (a phishing link): no cookie here. The session is used up.
    back = await through_idp(await start(hs, TRUSTED))
    hs.http.cookies.clear()
    refused = await hs.http.get(back)
    assert refused.status_code == 403
    assert "not started in this browser" in refused.text
    assert "loginToken" not in refused.headers.get("location", "")
    # A forged cookie under the sign-in's name is not its secret.
    back = await through_idp(await start(hs, TRUSTED))
    state = parse_qs(urlsplit(back).query)["state"][0]
    name = hs.runtime.services.sso.cookie_name(state)
    hs.http.cookies.set(name, "forged", domain="bastion.test", path=CALLBACK)
    assert (await hs.http.get(back)).status_code == 403
    # A callback used once cannot be used again.
    back = await through_idp(await start(hs, TRUSTED))
    assert (await hs.http.get(back)).status_code == 302
    replay = await hs.http.get(back)
    assert replay.status_code == 400
    assert "already used" in replay.text
    # Ten minutes is the session's life.
    back = await through_idp(await start(hs, TRUSTED))
    clock.advance(SESSION_LIFETIME_MS / 1000 + 1)
    late = await hs.http.get(back)
    assert late.status_code == 400
    assert "too long" in late.text


async def test_two_sign_ins_side_by_side_in_one_browser_both_finish(hs: Homeserver) -> None:
    """Element in one tab and the admin console in another: the second start does not take the
    first one's cookie, and each callback finds its own (and clears only that)."""
    await hs.create_user("alice")
    first = await start(hs, TRUSTED)
    second = await start(hs, TRUSTED + "other/")
    assert len([c for c in hs.http.cookies.jar if c.name.startswith("bastion_sso_")]) == 2
    first_back, second_back = await through_idp(first), await through_idp(second)
    for back in (second_back, first_back):  # in either order
        finished = await hs.http.get(back)
        assert finished.status_code == 302, finished.text
        assert (
            await token_login(hs, login_token_of(finished.headers["location"]))
        ).status_code == 200
    assert not [c for c in hs.http.cookies.jar if c.name.startswith("bastion_sso_")]


async def test_a_login_token_expires(hs: Homeserver, clock: FakeClock) -> None:
    """Spec: "The homeserver should generate a short-term login token"; an expired one is "not
    valid": 403 M_FORBIDDEN; an unknown one too."""
    await hs.create_user("alice")
    token = login_token_of((await sign_in(hs)).headers["location"])
    clock.advance(LOGIN_TOKEN_LIFETIME_MS / 1000)
    assert errcode(await token_login(hs, token)) == (403, "M_FORBIDDEN")
    assert errcode(await token_login(hs, "never-issued")) == (403, "M_FORBIDDEN")
    malformed = await hs.http.post(client_path("/login"), json={"type": "m.login.token"})
    assert errcode(malformed) == (400, "M_BAD_JSON")


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


def _hs256_with_public_key(idp: OidcTestProvider) -> Any:
    """The classic forgery: HMAC-"signed" with the IdP's public key as the secret."""

    def forge(header: dict[str, Any], claims: dict[str, Any]) -> str:
        unsigned = _unsigned({**header, "alg": "HS256"}, claims)[:-1]
        secret = idp.keys["rsa-1"].as_pem(private=False)
        mac = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
        return unsigned + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    return forge


def _signed_by_stranger(header: dict[str, Any], claims: dict[str, Any]) -> str:
    stranger = RSAKey.generate_key(2048, parameters={"kid": header["kid"]})
    return jwt.encode(header, claims, stranger)


async def test_id_tokens_that_fail_a_check_sign_nobody_in(
    hs: Homeserver, idp: OidcTestProvider, clock: FakeClock
) -> None:
    """Spec: "The homeserver should validate the response from the SSO system: this may require ...
    checking a signature on the response" (and OpenID Connect Core 3.1.3.7's checks)."""
    await hs.create_user("alice")
    now = clock.now_ms() // 1000
    bad: dict[str, tuple[dict[str, Any], Any]] = {
        "wrong aud": ({"aud": "someone-else"}, None),
        "wrong iss": ({"iss": "https://idp.evil.example"}, None),
        "expired": ({"exp": now - 120, "iat": now - 600}, None),
        "issued in the future": ({"iat": now + 600, "exp": now + 900}, None),
        "wrong nonce": ({"nonce": "not-this-one"}, None),
        "several audiences, no azp": ({"aud": [CLIENT_ID, "other"]}, None),
        "azp of another client": ({"azp": "other"}, None),
        "no sub": ({"sub": None}, None),
        "alg none": ({}, lambda h, c: _unsigned({**h, "alg": "none"}, c)),
        "bad signature": ({}, _signed_by_stranger),
        "HS256 with the public key": ({}, _hs256_with_public_key(idp)),
    }
    for name, (claims, forge) in bad.items():
        idp.claims, idp.forge = claims, forge
        page = await sign_in(hs)
        assert page.status_code == 403, name
        assert "could not be verified" in page.text, name
        assert "location" not in page.headers, name
    idp.claims, idp.forge = {}, None
    assert (await sign_in(hs)).status_code == 302  # the same IdP, honest again


async def test_es256_tokens_and_a_rotated_key_are_accepted(
    hs: Homeserver, idp: OidcTestProvider
) -> None:
    """Keys come from the IdP's JWKS; a key added after Bastion fetched them is found by
    fetching them again (an IdP rotates its keys)."""
    await hs.create_user("alice")
    idp.signing_kid = "ec-1"
    assert (await sign_in(hs)).status_code == 302
    idp.add_key(RSAKey.generate_key(2048, parameters={"kid": "rsa-2"}))
    idp.signing_kid = "rsa-2"
    assert (await sign_in(hs)).status_code == 302


async def test_only_existing_active_accounts_sign_in(hs: Homeserver, idp: OidcTestProvider) -> None:
    """The localpart claim names an existing account (no account is created by signing in); a
    deactivated or locked account is refused (spec: M_USER_DEACTIVATED, M_USER_LOCKED)."""
    admin = await hs.register_user("admin", admin=True)
    idp.username = "bob"  # no such account
    page = await sign_in(hs)
    assert page.status_code == 403
    assert "no active account" in page.text
    carol = await hs.create_user("carol")
    idp.username = "carol"
    resp = await admin.put(f"/_matrix/client/v1/admin/lock/{carol}", json={"locked": True})
    assert resp.status_code == 200, resp.text
    page = await sign_in(hs)
    assert page.status_code == 403
    assert "locked" in page.text
    dave = await hs.create_user("dave")
    idp.username = "dave"
    token = login_token_of((await sign_in(hs)).headers["location"])
    await hs.runtime.services.accounts.deactivate(OPERATOR, dave)
    # Deactivated between the callback and the login: the token login refuses it too.
    assert errcode(await token_login(hs, token)) == (403, "M_USER_DEACTIVATED")
    page = await sign_in(hs)
    assert page.status_code == 403
    assert "no active account" in page.text
    idp.username = "Alice"  # "Alice@corp.example" maps to @alice, as SCIM maps userName
    await hs.create_user("alice")
    assert (await sign_in(hs)).status_code == 302


async def test_the_first_sign_in_links_the_account_to_its_subject(
    hs: Homeserver, idp: OidcTestProvider
) -> None:
    """OpenID Connect Core 5.7: `sub` is the stable identifier (a `preferred_username` "MUST NOT
    be relied upon to be unique"). The first sign-in links the account to its subject: a rename
    at the IdP still reaches the account, and another subject whose username names it (a
    recycled or edited username) is refused."""
    alice = await hs.create_user("alice")
    assert login_token_of((await sign_in(hs)).headers["location"])  # sub-alice, linked now
    idp.claims = {"preferred_username": "alice.smith@corp.example"}  # renamed; same subject
    renamed = await sign_in(hs)
    assert renamed.status_code == 302, renamed.text
    login = await token_login(hs, login_token_of(renamed.headers["location"]))
    assert login.json()["user_id"] == alice
    idp.claims = {"sub": "sub-someone-else", "preferred_username": "alice@corp.example"}
    taken = await sign_in(hs)
    assert taken.status_code == 403
    assert "linked to another sign-in" in taken.text
    assert "loginToken" not in taken.text
    rows = await hs.runtime.db.fetch_all("SELECT subject, user_id FROM sso_identities")
    assert [(r[0], r[1]) for r in rows] == [("sub-alice", alice)]


async def test_an_idp_that_is_down_or_refuses_gets_a_readable_page(
    hs: Homeserver, idp: OidcTestProvider
) -> None:
    """A failing IdP is the user's "try again later", never a 500; an IdP's `error` answer
    (RFC 6749 4.1.2.1) is shown, escaped."""
    await hs.create_user("alice")
    idp.failing = True
    down = await start(hs, TRUSTED)
    assert down.status_code == 502
    assert "cannot be reached" in down.text
    idp.failing = False
    back = await through_idp(await start(hs, TRUSTED))
    idp.failing = True  # down between the sign-in and the code exchange
    page = await hs.http.get(back)
    assert page.status_code == 502
    assert "could not be reached" in page.text
    idp.failing = False
    started = await start(hs, TRUSTED)
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    denied = await hs.http.get(
        CALLBACK,
        params={"state": state, "error": "access_denied", "error_description": "<i>No</i>"},
    )
    assert denied.status_code == 403
    assert "access_denied" in denied.text
    assert "<i>" not in denied.text
    assert "&lt;i&gt;No" in denied.text


async def test_the_discovery_document_is_fetched_again_after_a_day(
    hs: Homeserver, idp: OidcTestProvider, clock: FakeClock
) -> None:
    """An IdP may move its endpoints: the document is kept a day, then fetched again; while a
    refetch fails, the older copy keeps sign-ins working (the rest of the IdP answers)."""
    await hs.create_user("alice")
    for _ in range(2):
        assert (await sign_in(hs)).status_code == 302
    assert idp.discoveries == 1
    clock.advance(METADATA_MAX_AGE_S + 1)
    assert (await sign_in(hs)).status_code == 302
    assert idp.discoveries == 2
    clock.advance(METADATA_MAX_AGE_S + 1)
    idp.discovery_failing = True
    assert (await sign_in(hs)).status_code == 302  # the older copy
    assert idp.discoveries == 3
    assert (await sign_in(hs)).status_code == 302
    assert idp.discoveries == 3  # not asked again at once: after METADATA_RETRY_S
    clock.advance(METADATA_RETRY_S + 1)
    idp.discovery_failing = False
    assert (await sign_in(hs)).status_code == 302
    assert idp.discoveries == 4


async def test_token_login_is_unknown_without_sso(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    """Without a provider there is no `m.login.sso` flow, nor `m.login.token` login."""
    async with homeserver_with(tmp_path, database_config) as plain:
        flows = (await plain.http.get(client_path("/login"))).json()["flows"]
        assert [f["type"] for f in flows] == ["m.login.password"]
        assert errcode(await token_login(plain, "x")) == (400, "M_UNKNOWN")
        assert errcode(await start(plain, TRUSTED)) == (404, "M_NOT_FOUND")


@pytest.fixture
async def second_idp(clock: FakeClock) -> AsyncIterator[OidcTestProvider]:
    provider = OidcTestProvider(clock, auth_methods=("client_secret_post",))
    provider.start()
    yield provider
    provider.stop()


async def test_several_providers_get_a_picker(
    tmp_path: Path,
    database_config: DatabaseConfig,
    idp: OidcTestProvider,
    second_idp: OidcTestProvider,
) -> None:
    """Spec: "The server MUST respond with an HTTP redirect to the SSO interface, or present a page
    which lets the user select an IdP"; /redirect/{idpId} goes to that IdP."""
    sso = SsoConfig(
        providers=(
            provider_config(idp.issuer),
            provider_config(second_idp.issuer, "keycloak", "Keycloak <staff>"),
        ),
        client_redirects=(TRUSTED,),
    )
    async with homeserver_with(tmp_path, database_config, sso=sso) as hs:
        await hs.create_user("alice")
        picker = await start(hs, TRUSTED)
        assert picker.status_code == 200
        assert "Keycloak &lt;staff&gt;" in picker.text
        assert "/login/sso/redirect/keycloak?redirectUrl=https%3A%2F%2Fchat" in picker.text
        second = await start(hs, TRUSTED, REDIRECT + "/keycloak")
        assert second.headers["location"].startswith(second_idp.issuer)
        callback = await hs.http.get(await through_idp(second))
        assert callback.status_code == 302
        (exchange,) = second_idp.token_requests  # client_secret_post, as its discovery says
        assert exchange["client_secret"] == CLIENT_SECRET
        login = await token_login(hs, login_token_of(callback.headers["location"]))
        assert login.status_code == 200


async def test_the_login_limit_per_address_covers_sso(
    tmp_path: Path, database_config: DatabaseConfig, idp: OidcTestProvider
) -> None:
    """Starting a sign-in, the IdP's callback and `m.login.token` logins each count against
    `[rate_limits] login_per_ip`: past it, 429 (a page for the browser, M_LIMIT_EXCEEDED for the
    client)."""
    limits = RateLimitsConfig(login_per_ip=RateLimit(per_second=0.001, burst=4))
    sso = SsoConfig(providers=(provider_config(idp.issuer),), client_redirects=(TRUSTED,))
    async with homeserver_with(tmp_path, database_config, sso=sso, rate_limits=limits) as hs:
        await hs.create_user("alice")
        callback = await sign_in(hs)  # 2 of 4
        assert callback.status_code == 302
        login = await token_login(hs, login_token_of(callback.headers["location"]))  # 3
        assert login.status_code == 200
        back = await through_idp(await start(hs, TRUSTED))  # 4
        limited = await hs.http.get(back)
        assert limited.status_code == 429
        assert "Too many sign-in attempts" in limited.text
        assert errcode(await token_login(hs, "x")) == (429, "M_LIMIT_EXCEEDED")
        assert errcode(await start(hs, TRUSTED)) == (429, "M_LIMIT_EXCEEDED")
