"""`POST /login/get_token`, from the spec's text
(client-server-api#post_matrixclientv1loginget_token, #mget_login_token-capability, #login
`m.login.token`): a signed-in device asks for a single-use, time-limited token, and a new device
logs in with it. Off unless configured; then every token needs the person's password again, is
rate limited, audited, and dies with the account.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from bastion.config import (
    AppServicesConfig,
    DatabaseConfig,
    LoginViaExistingSessionConfig,
    SsoConfig,
)
from bastion.errors import MatrixError
from bastion.services.login_token_request import TOKEN_ISSUED
from tests.api.appservice_fixtures import OPS_TOKEN, ActingService, write_registrations
from tests.api.test_sso import idp, provider_config
from tests.conftest import (
    OPERATOR,
    PASSWORD,
    Homeserver,
    UserClient,
    client_path,
    errcode,
    homeserver_with,
)
from tests.oidc_provider import OidcTestProvider

__all__ = ["idp"]  # the SSO tests' loopback identity provider, for the SSO test here

GET_TOKEN = "/_matrix/client/v1/login/get_token"
SSO_FALLBACK = "/_matrix/client/v3/auth/m.login.sso/fallback/web"
LIFETIME_MS = 120_000  # the default, the spec's recommendation
ON = LoginViaExistingSessionConfig(enabled=True)


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"login_via_existing_session": ON}


def password_auth(user: UserClient, session: str, password: str = PASSWORD) -> dict[str, Any]:
    identifier = {"type": "m.id.user", "user": user.user_id}
    return {"type": "m.login.password", "identifier": identifier, "password": password,
            "session": session}  # fmt: skip


async def get_token(user: UserClient) -> dict[str, Any]:
    """The UIA exchange Element runs: the 401 with a session, then the password."""
    challenge = await user.post(GET_TOKEN, json={})
    assert challenge.status_code == 401, challenge.text
    answer = await user.post(
        GET_TOKEN, json={"auth": password_auth(user, challenge.json()["session"])}
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def token_login(hs: Homeserver, token: str) -> httpx.Response:
    return await hs.http.post(client_path("/login"), json={"type": "m.login.token", "token": token})


async def capability(user: UserClient) -> Any:
    return (await user.get("/capabilities")).json()["capabilities"]["m.get_login_token"]


async def test_off_by_default(tmp_path: Path, database_config: DatabaseConfig) -> None:
    """An optional endpoint ("the server is not required to implement this endpoint"), off
    until an operator enables it: 404 M_UNRECOGNIZED, the capability false, no token flow."""
    async with homeserver_with(tmp_path, database_config) as home:
        alice = await home.register_user("alice")
        assert errcode(await alice.post(GET_TOKEN, json={})) == (404, "M_UNRECOGNIZED")
        auth = {"auth": password_auth(alice, "any")}
        assert errcode(await alice.post(GET_TOKEN, json=auth)) == (404, "M_UNRECOGNIZED")
        assert await capability(alice) == {"enabled": False}
        flows = (await home.http.get(client_path("/login"))).json()["flows"]
        assert flows == [{"type": "m.login.password"}]
        assert errcode(await token_login(home, "guess")) == (400, "M_UNKNOWN")


async def test_enabled_is_advertised_to_users_and_to_clients_not_signed_in(
    hs: Homeserver,
) -> None:
    """The `m.get_login_token` capability is true; unauthenticated clients "can detect server
    support by looking for an `m.login.token` login flow with `get_login_token: true`"."""
    alice = await hs.register_user("alice")
    assert await capability(alice) == {"enabled": True}
    flows = (await hs.http.get(client_path("/login"))).json()["flows"]
    assert flows == [
        {"type": "m.login.password"},
        {"type": "m.login.token", "get_login_token": True},
    ]
    # "This API endpoint uses the User-Interactive Authentication API": an access token first.
    missing = await hs.http.post(GET_TOKEN, json={})
    assert errcode(missing) == (401, "M_MISSING_TOKEN")


async def test_a_token_signs_in_a_new_device_once(hs: Homeserver) -> None:
    """UIA first (servers "MUST always re-prompt the user"), then `login_token` and
    `expires_in_ms`; the unauthenticated client becomes "logged in as the same user which called
    this endpoint" with `m.login.token`; the token "MUST only be valid for a single login"
    (then, as any invalid token: 403 M_FORBIDDEN)."""
    alice = await hs.register_user("alice")
    challenge = await alice.post(GET_TOKEN, json={})
    assert challenge.status_code == 401
    body = challenge.json()
    assert body["flows"] == [{"stages": ["m.login.password"]}]
    wrong = await alice.post(
        GET_TOKEN, json={"auth": password_auth(alice, body["session"], "not it")}
    )
    assert errcode(wrong) == (401, "M_FORBIDDEN")
    assert "login_token" not in wrong.json()
    answer = await alice.post(GET_TOKEN, json={"auth": password_auth(alice, body["session"])})
    assert answer.status_code == 200, answer.text
    issued = answer.json()
    assert set(issued) == {"login_token", "expires_in_ms"}
    assert issued["expires_in_ms"] == LIFETIME_MS

    login = await token_login(hs, issued["login_token"])
    assert login.status_code == 200, login.text
    session = login.json()
    assert session["user_id"] == alice.user_id
    assert session["device_id"] != alice.device_id
    new_device = UserClient(hs.http, alice.user_id, session["device_id"], session["access_token"])
    whoami = (await new_device.get("/account/whoami")).json()
    assert (whoami["user_id"], whoami["device_id"]) == (alice.user_id, session["device_id"])
    assert errcode(await token_login(hs, issued["login_token"])) == (403, "M_FORBIDDEN")


async def test_issuing_and_using_a_token_are_audited(hs: Homeserver) -> None:
    """Each token is a new session on the account: the admins see which device asked for it,
    and the login that used it names that device."""
    alice = await hs.register_user("alice")
    token = (await get_token(alice))["login_token"]
    stored = await hs.runtime.db.fetch_all("SELECT token_hash, user_id FROM sso_login_tokens")
    assert [(row[0] == token, row[1]) for row in stored] == [(False, alice.user_id)]  # an HMAC
    assert (await token_login(hs, token)).status_code == 200
    rows = await hs.runtime.db.fetch_all(
        "SELECT action, actor_kind, actor, target, outcome, details FROM audit_log"
        " WHERE action IN (?, 'login.success') ORDER BY seq",
        TOKEN_ISSUED,
    )
    assert [row[0] for row in rows] == ["login.success", TOKEN_ISSUED, "login.success"]
    issued, token_used = rows[1], rows[2]  # the first: register_user's password login
    assert [issued[i] for i in range(5)] == [
        TOKEN_ISSUED, "user", alice.user_id, alice.user_id, "success"
    ]  # fmt: skip
    details = json.loads(issued[5])
    assert details["device_id"] == alice.device_id
    assert details["expires_in_ms"] == LIFETIME_MS
    used = json.loads(token_used[5])
    assert (used["method"], used["issued_by_device"]) == ("m.login.token", alice.device_id)
    assert token not in issued[5] + token_used[5]  # the audit log never holds a credential


async def test_an_expired_token_is_refused(hs: Homeserver) -> None:
    """`expires_in_ms`: "the time remaining ... until the homeserver will no longer accept the
    token"."""
    alice = await hs.register_user("alice")
    late = (await get_token(alice))["login_token"]
    hs.clock.advance(LIFETIME_MS / 1000)
    assert errcode(await token_login(hs, late)) == (403, "M_FORBIDDEN")
    in_time = (await get_token(alice))["login_token"]  # a minute later: the limit allows one
    hs.clock.advance(LIFETIME_MS / 1000 - 1)
    assert (await token_login(hs, in_time)).status_code == 200


async def test_one_token_a_minute_then_429(hs: Homeserver) -> None:
    """ "Servers are encouraged to apply stricter than normal rate limiting to this endpoint,
    such as maximum of 1 request per minute": 429 M_LIMIT_EXCEEDED with `retry_after_ms`,
    before the person is asked for their password again."""
    alice = await hs.register_user("alice")
    await get_token(alice)
    throttled = await alice.post(GET_TOKEN, json={})
    assert errcode(throttled) == (429, "M_LIMIT_EXCEEDED")
    assert 0 < throttled.json()["retry_after_ms"] <= 60_000
    hs.clock.advance(throttled.json()["retry_after_ms"] / 1000)
    await get_token(alice)
    # The challenge alone takes nothing: the limit counts tokens, not prompts.
    bob = await hs.register_user("bob")
    for _ in range(3):
        assert (await bob.post(GET_TOKEN, json={})).status_code == 401
    await get_token(bob)


async def test_without_ui_auth_a_token_comes_at_once(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    """`require_ui_auth = false` (Synapse's option, against the spec's MUST, for kiosks and
    tests): no 401; the configured lifetime is what the response says."""
    settings = LoginViaExistingSessionConfig(
        enabled=True, require_ui_auth=False, token_lifetime_seconds=300
    )
    async with homeserver_with(
        tmp_path, database_config, login_via_existing_session=settings
    ) as home:
        alice = await home.register_user("alice")
        answer = await alice.post(GET_TOKEN, json={})
        assert answer.status_code == 200, answer.text
        assert answer.json()["expires_in_ms"] == 300_000
        home.clock.advance(299)
        login = await token_login(home, answer.json()["login_token"])
        assert login.json()["user_id"] == alice.user_id


async def test_a_token_dies_with_its_account(hs: Homeserver) -> None:
    """A token issued before the account was deactivated (offboarded) or locked does not sign
    anyone in afterwards."""
    alice = await hs.register_user("alice")
    token = (await get_token(alice))["login_token"]
    await hs.runtime.services.offboarding.offboard(OPERATOR, alice.user_id)
    assert errcode(await token_login(hs, token)) == (403, "M_USER_DEACTIVATED")
    assert errcode(await token_login(hs, token)) == (403, "M_FORBIDDEN")  # and it is used up

    bob = await hs.register_user("bob")
    token = (await get_token(bob))["login_token"]
    await hs.runtime.services.admin_users.set_locked(OPERATOR, bob.user_id, True)
    assert errcode(await token_login(hs, token)) == (401, "M_USER_LOCKED")
    assert errcode(await bob.post(GET_TOKEN, json={})) == (401, "M_USER_LOCKED")


async def test_a_suspended_account_gets_no_token(hs: Homeserver) -> None:
    """A suspended account still signs in with its password, but hands out no sessions: the
    capability is false for it ("per-user basis") and the endpoint 403 M_USER_SUSPENDED, before
    and after the password."""
    alice = await hs.register_user("alice")
    challenge = await alice.post(GET_TOKEN, json={})
    await hs.runtime.services.suspensions.set_suspended(OPERATOR, alice.user_id, True)
    assert await capability(alice) == {"enabled": False}
    assert errcode(await alice.post(GET_TOKEN, json={})) == (403, "M_USER_SUSPENDED")
    auth = {"auth": password_auth(alice, challenge.json()["session"])}
    assert errcode(await alice.post(GET_TOKEN, json=auth)) == (403, "M_USER_SUSPENDED")
    await hs.runtime.services.suspensions.set_suspended(OPERATOR, alice.user_id, False)
    assert await capability(alice) == {"enabled": True}


async def test_the_console_takes_no_token_a_device_asked_for(hs: Homeserver) -> None:
    """The admin console's sign-in takes login tokens from single sign-on only (with
    `password_sign_in = false` it is how the organisation's MFA guards admin access): a token a
    signed-in device asked for must not open a console session."""
    admin = await hs.register_user("admin", admin=True)
    token = (await get_token(admin))["login_token"]
    sessions = hs.runtime.services.console_sessions
    with pytest.raises(MatrixError) as refused:
        await sessions.sign_in_with_login_token(token, "203.0.113.7", "en")
    assert (refused.value.status, refused.value.errcode) == (403, "M_FORBIDDEN")


async def test_an_application_service_gets_no_token(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    """An application service logs its users in with `m.login.application_service`; it cannot
    mint tokens for them (the capability is false for it, the endpoint 400 M_FORBIDDEN, the
    spec's answer when "the user does not have an ability to generate tokens")."""
    registrations = AppServicesConfig(registration_files=write_registrations(tmp_path, None))
    async with homeserver_with(
        tmp_path, database_config, appservices=registrations, login_via_existing_session=ON
    ) as home:
        ops = ActingService(home.http, OPS_TOKEN)
        caps = (await ops.request("GET", "/capabilities")).json()["capabilities"]
        assert caps["m.get_login_token"] == {"enabled": False}
        assert errcode(await ops.request("POST", GET_TOKEN, json={})) == (400, "M_FORBIDDEN")


async def test_with_single_sign_on_the_token_flow_is_marked_and_sso_confirms(
    tmp_path: Path, database_config: DatabaseConfig, idp: OidcTestProvider
) -> None:
    """With SSO the `m.login.token` flow is listed already: it gains `get_login_token: true`.
    The 401 offers the identity provider beside the password, and the fallback page tells the
    person what they confirm, in their language."""
    sso = SsoConfig(providers=(provider_config(idp.issuer),))
    async with homeserver_with(
        tmp_path, database_config, sso=sso, login_via_existing_session=ON
    ) as home:
        flows = (await home.http.get(client_path("/login"))).json()["flows"]
        assert [flow["type"] for flow in flows] == [
            "m.login.password", "m.login.sso", "m.login.token"
        ]  # fmt: skip
        assert flows[2] == {"type": "m.login.token", "get_login_token": True}
        assert "get_login_token" not in flows[1]
        alice = await home.register_user("alice")
        challenge = (await alice.post(GET_TOKEN, json={})).json()
        assert challenge["flows"] == [{"stages": ["m.login.password"]}, {"stages": ["m.login.sso"]}]
        params = {"session": challenge["session"]}
        page = await home.http.get(SSO_FALLBACK, params=params)
        assert "let another device sign in to your account" in page.text
        polish = await home.http.get(SSO_FALLBACK, params=params, headers={"Accept-Language": "pl"})
        assert "pozwolić innemu urządzeniu zalogować się na Twoje konto" in polish.text
