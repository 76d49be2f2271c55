"""Synapse's shared-secret registration (services/shared_secret_registration.py).

Synapse's docs (admin_api/register_api.md): "If the registration shared secret is not
configured, this API is not enabled"; "To fetch the nonce, you need to request one from the
API: GET /_synapse/admin/v1/register"; the POST carries "the nonce, username, password, whether
they are an admin (optional, False by default), and a HMAC digest of the content", and answers
`access_token`, `user_id`, `home_server`, `device_id`; "The MAC is the hex digest output of the
HMAC-SHA1 algorithm, with the key being the shared secret and the content being the nonce,
user, password, either the string "admin" or "notadmin" ... each separated by NULs". Synapse's
servlet: a nonce is deleted "so it can't be reused, even if it's invalid", and lives 60 s.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest

from bastion.config_sections import RegistrationConfig
from tests.conftest import Homeserver, errcode

SECRET = "correct horse battery staple, but longer than 32"
REGISTER = "/_synapse/admin/v1/register"


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"registration": RegistrationConfig(shared_secret=SECRET)}


def mac_of(nonce: str, user: str, password: str, *, admin: bool, secret: str = SECRET) -> str:
    """The MAC as Synapse's docs compute it."""
    digest = hmac.new(key=secret.encode(), digestmod=hashlib.sha1)
    digest.update(nonce.encode() + b"\x00" + user.encode() + b"\x00" + password.encode())
    digest.update(b"\x00" + (b"admin" if admin else b"notadmin"))
    return digest.hexdigest()


async def nonce_of(hs: Homeserver) -> str:
    resp = await hs.http.get(REGISTER)
    assert resp.status_code == 200, resp.text
    nonce: str = resp.json()["nonce"]
    return nonce


async def register(hs: Homeserver, body: dict[str, Any]) -> httpx.Response:
    return await hs.http.post(REGISTER, content=json.dumps(body).encode())


async def signed(hs: Homeserver, user: str, password: str, **extra: Any) -> dict[str, Any]:
    nonce = await nonce_of(hs)
    mac = mac_of(nonce, user, password, admin=bool(extra.get("admin")))
    return {"nonce": nonce, "username": user, "password": password, "mac": mac, **extra}


async def test_a_holder_of_the_secret_creates_accounts_that_can_sign_in(hs: Homeserver) -> None:
    resp = await register(hs, await signed(hs, "ops", "a long enough password", admin=True))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["user_id"] == f"@ops:{hs.server_name}"
    assert body["home_server"] == hs.server_name
    token = {"Authorization": f"Bearer {body['access_token']}"}
    whoami = await hs.http.get("/_matrix/client/v3/account/whoami", headers=token)
    assert (whoami.json()["user_id"], whoami.json()["device_id"]) == (
        body["user_id"],
        body["device_id"],
    )
    # An admin: the admin API answers it.
    users = await hs.http.get("/_synapse/admin/v2/users", headers=token)
    assert users.status_code == 200

    plain = await signed(hs, "staff1", "another long password", displayname="Staff One")
    resp = await register(hs, plain)
    assert resp.status_code == 200, resp.text
    staff = {"Authorization": f"Bearer {resp.json()['access_token']}"}
    assert errcode(await hs.http.get("/_synapse/admin/v2/users", headers=staff)) == (
        403,
        "M_FORBIDDEN",
    )
    profile = await hs.http.get(
        f"/_matrix/client/v3/profile/@staff1:{hs.server_name}", headers=staff
    )
    assert profile.json()["displayname"] == "Staff One"
    login = await hs.http.post(
        "/_matrix/client/v3/login",
        json={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "staff1"},
            "password": "another long password",
        },
    )
    assert login.status_code == 200, login.text
    rows = await hs.runtime.db.fetch_all(
        "SELECT actor, target, outcome, details FROM audit_log WHERE action = 'user.create'"
        " ORDER BY seq"
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("registration_shared_secret", f"@ops:{hs.server_name}", "success"),
        ("registration_shared_secret", f"@staff1:{hs.server_name}", "success"),
    ]
    assert json.loads(rows[0][3])["admin"] is True


async def test_a_nonce_is_used_up_by_any_request_and_lapses_after_a_minute(
    hs: Homeserver,
) -> None:
    body = await signed(hs, "alice", "a long enough password")
    wrong = {**body, "mac": mac_of(body["nonce"], "alice", "a long enough password", admin=True)}
    assert errcode(await register(hs, wrong)) == (403, "M_FORBIDDEN")  # admin is in the MAC
    # The right MAC on the spent nonce is refused too: a secret cannot be guessed on one nonce.
    assert (await register(hs, body)).json()["error"] == "unrecognised nonce"
    assert (await register(hs, body)).status_code == 400
    late = await signed(hs, "alice", "a long enough password")
    hs.clock.advance(61)
    assert (await register(hs, late)).json()["error"] == "unrecognised nonce"
    fresh = await signed(hs, "alice", "a long enough password")
    assert (await register(hs, fresh)).status_code == 200
    again = await signed(hs, "alice", "a long enough password")
    assert errcode(await register(hs, again)) == (400, "M_USER_IN_USE")
    other_secret = await signed(hs, "bob", "a long enough password")
    other_secret["mac"] = mac_of(
        other_secret["nonce"], "bob", "a long enough password", admin=False, secret="guess" * 8
    )
    assert errcode(await register(hs, other_secret)) == (403, "M_FORBIDDEN")
    failures = await hs.runtime.db.fetch_val(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'user.create' AND outcome = 'failure'"
    )
    assert failures == 3  # two wrong MACs, the name taken
    assert (
        await hs.runtime.db.fetch_val(
            "SELECT COUNT(*) FROM users WHERE user_id = ?", f"@bob:{hs.server_name}"
        )
        == 0
    )


async def test_bad_requests_get_clear_errors(hs: Homeserver) -> None:
    assert errcode(await register(hs, {"username": "x"})) == (400, "M_BAD_JSON")
    assert errcode(await hs.http.post(REGISTER, content=b"{nonce")) == (400, "M_NOT_JSON")
    for fields, expected in (
        ({"password": "a long enough password"}, (400, "M_BAD_JSON")),  # no username
        ({"username": "carol"}, (400, "M_BAD_JSON")),  # no password
        ({"username": "carol", "password": "pass\x00word long"}, (400, "M_BAD_JSON")),
        ({"username": "Not Valid", "password": "a long enough password"}, None),
        ({"username": "carol", "password": "short"}, (400, "M_WEAK_PASSWORD")),
        ({"username": "carol", "password": "a long enough password", "user_type": "bot"}, None),
        ({"username": "carol", "password": "a long enough password", "admin": "yes"}, None),
    ):
        hs.clock.advance(60)  # a fresh allowance (the limit on registrations per address)
        body: dict[str, Any] = {"nonce": await nonce_of(hs), **fields}
        password = str(fields.get("password", ""))
        body["mac"] = mac_of(body["nonce"], str(fields.get("username", "")), password, admin=False)
        resp = await register(hs, body)
        assert resp.status_code == 400, (fields, resp.text)
        if expected is not None:
            assert errcode(resp) == expected, (fields, resp.text)
    hs.clock.advance(60)
    nonce = await nonce_of(hs)
    missing_mac = {"nonce": nonce, "username": "carol", "password": "a long enough password"}
    assert errcode(await register(hs, missing_mac)) == (400, "M_BAD_JSON")
    assert (
        await hs.runtime.db.fetch_val(
            "SELECT COUNT(*) FROM users WHERE user_id = ?", f"@carol:{hs.server_name}"
        )
        == 0
    )


async def test_nonces_and_attempts_are_rate_limited_per_address(hs: Homeserver) -> None:
    answers = [(await hs.http.get(REGISTER)).status_code for _ in range(30)]
    assert answers[0] == 200
    assert answers[-1] == 429
    hs.clock.advance(3600)
    assert (await hs.http.get(REGISTER)).status_code == 200


@pytest.mark.parametrize("config_overrides", [{}])
async def test_off_unless_a_secret_is_configured(hs: Homeserver) -> None:
    assert errcode(await hs.http.get(REGISTER)) == (400, "M_UNKNOWN")
    body = {"nonce": "n", "username": "eve", "password": "a long enough password", "mac": "00"}
    resp = await register(hs, body)
    assert resp.json()["error"] == "Shared secret registration is not enabled"
    assert await hs.runtime.db.fetch_val("SELECT COUNT(*) FROM users") == 0
