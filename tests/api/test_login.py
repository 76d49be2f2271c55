"""POST/GET /login, /logout, /logout/all, whoami, and the throttling of password guessing."""

from __future__ import annotations

from typing import Any

import pytest

from bastion.config import AuthConfig, RateLimit, RateLimitsConfig
from tests.conftest import FAST_AUTH, OPERATOR, PASSWORD, Homeserver, errcode


def password_login(user: Any, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
    identifier = {"type": "m.id.user", "user": user}
    return {"type": "m.login.password", "identifier": identifier, "password": password, **extra}


async def test_login_flows(hs: Homeserver) -> None:
    resp = await hs.http.get("/_matrix/client/v3/login")
    assert resp.json() == {"flows": [{"type": "m.login.password"}]}


async def test_login_with_localpart_full_id_and_legacy_user_field(hs: Homeserver) -> None:
    user_id = await hs.create_user("alice")
    for body in (
        password_login("alice"),
        password_login("ALICE"),
        password_login(user_id),
        {"type": "m.login.password", "user": "alice", "password": PASSWORD},
    ):
        resp = await hs.http.post("/_matrix/client/v3/login", json=body)
        assert resp.status_code == 200, resp.text
        assert resp.json()["user_id"] == user_id
        assert resp.json()["access_token"].startswith("bst_")


async def test_token_has_256_bits_and_is_stored_only_as_a_hash(hs: Homeserver) -> None:
    await hs.create_user("alice")
    alice = await hs.login("alice")
    assert len(alice.token.removeprefix("bst_")) >= 43  # 32 random bytes in base64url
    stored = await hs.runtime.db.fetch_all("SELECT token_hash FROM access_tokens")
    assert [row[0] for row in stored] == [hs.runtime.services.auth.hash_token(alice.token)]
    assert alice.token not in stored[0][0]


async def test_login_creates_named_device_and_reuses_device_id(hs: Homeserver) -> None:
    await hs.create_user("alice")
    first = await hs.login("alice", initial_device_display_name="Work laptop")
    devices = (await first.get("/devices")).json()["devices"]
    assert [(d["device_id"], d["display_name"]) for d in devices] == [
        (first.device_id, "Work laptop")
    ]
    again = await hs.login("alice", device_id=first.device_id)
    assert again.device_id == first.device_id
    # Logging in again on the same device replaces that device's token.
    resp = await first.get("/account/whoami")
    assert resp.json()["errcode"] == "M_UNKNOWN_TOKEN"
    assert (await again.get("/account/whoami")).json()["device_id"] == first.device_id
    assert len((await again.get("/devices")).json()["devices"]) == 1


async def test_wrong_password_and_unknown_user_are_forbidden(hs: Homeserver) -> None:
    await hs.create_user("alice")
    for body in (password_login("alice", "wrong password!"), password_login("nobody")):
        resp = await hs.http.post("/_matrix/client/v3/login", json=body)
        assert (resp.status_code, resp.json()["errcode"]) == (403, "M_FORBIDDEN")
    resp = await hs.http.post("/_matrix/client/v3/login", json=password_login("@alice:elsewhere"))
    assert (resp.status_code, resp.json()["errcode"]) == (403, "M_FORBIDDEN")


async def test_unsupported_login_types_and_identifiers(hs: Homeserver) -> None:
    resp = await hs.http.post("/_matrix/client/v3/login", json={"type": "m.login.token"})
    assert (resp.status_code, resp.json()["errcode"]) == (400, "M_UNKNOWN")
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.thirdparty", "medium": "email", "address": "a@b.c"},
        "password": PASSWORD,
    }
    resp = await hs.http.post("/_matrix/client/v3/login", json=body)
    assert (resp.status_code, resp.json()["errcode"]) == (400, "M_UNKNOWN")
    resp = await hs.http.post("/_matrix/client/v3/login", json={"type": "m.login.password"})
    assert (resp.status_code, resp.json()["errcode"]) == (400, "M_BAD_JSON")


async def test_whoami_logout_and_logout_all(hs: Homeserver) -> None:
    await hs.create_user("alice")
    phone, laptop, tablet = [await hs.login("alice") for _ in range(3)]
    whoami = (await phone.get("/account/whoami")).json()
    assert whoami == {"user_id": phone.user_id, "device_id": phone.device_id, "is_guest": False}

    assert (await phone.post("/logout")).status_code == 200
    assert (await phone.get("/account/whoami")).json()["errcode"] == "M_UNKNOWN_TOKEN"
    remaining = {d["device_id"] for d in (await laptop.get("/devices")).json()["devices"]}
    assert remaining == {laptop.device_id, tablet.device_id}

    assert (await laptop.post("/logout/all")).status_code == 200
    for client in (laptop, tablet):
        assert (await client.get("/account/whoami")).json()["errcode"] == "M_UNKNOWN_TOKEN"
    assert await hs.runtime.db.fetch_val("SELECT COUNT(*) FROM devices") == 0


async def test_deactivated_account_cannot_log_in_and_its_tokens_stop(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    await hs.runtime.services.accounts.deactivate(OPERATOR, alice.user_id)
    resp = await alice.get("/account/whoami")
    assert (resp.status_code, resp.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    resp = await hs.http.post("/_matrix/client/v3/login", json=password_login("alice"))
    assert (resp.status_code, resp.json()["errcode"]) == (403, "M_USER_DEACTIVATED")
    # A wrong password does not reveal that the account exists and is deactivated.
    resp = await hs.http.post("/_matrix/client/v3/login", json=password_login("alice", "nope!!"))
    assert resp.json()["errcode"] == "M_FORBIDDEN"


class TestGuessingIsThrottled:
    """An attacker guessing one account's password is slowed, then locked out."""

    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        auth = AuthConfig(
            token_hmac_key=FAST_AUTH.token_hmac_key,
            argon2_time_cost=1,
            argon2_memory_kib=1024,
            argon2_parallelism=1,
            lockout_after_failures=6,
            lockout_seconds=600,
        )
        limits = RateLimitsConfig(failed_login_per_account=RateLimit(per_second=0.1, burst=3))
        return {"auth": auth, "rate_limits": limits}

    async def test_guesses_are_throttled_then_locked_out(self, hs: Homeserver) -> None:
        await hs.create_user("alice")
        codes = []
        for attempt in range(4):
            resp = await hs.http.post(
                "/_matrix/client/v3/login", json=password_login("alice", f"guess-{attempt}")
            )
            codes.append(resp.json()["errcode"])
        assert codes == ["M_FORBIDDEN", "M_FORBIDDEN", "M_FORBIDDEN", "M_LIMIT_EXCEEDED"]
        assert resp.status_code == 429
        assert resp.json()["retry_after_ms"] > 0

        # Even the right password is refused while throttled: guessing gains nothing.
        resp = await hs.http.post("/_matrix/client/v3/login", json=password_login("alice"))
        assert resp.status_code == 429

        # Slow guessing hits the persistent lockout after 6 failures.
        for attempt in range(3):
            hs.clock.advance(10)
            resp = await hs.http.post(
                "/_matrix/client/v3/login", json=password_login("alice", f"slow-{attempt}")
            )
            assert resp.json()["errcode"] == "M_FORBIDDEN"
        hs.clock.advance(60)
        resp = await hs.http.post("/_matrix/client/v3/login", json=password_login("alice"))
        assert (resp.status_code, resp.json()["errcode"]) == (429, "M_LIMIT_EXCEEDED")
        assert 500_000 < resp.json()["retry_after_ms"] <= 600_000

        hs.clock.advance(601)
        resp = await hs.http.post("/_matrix/client/v3/login", json=password_login("alice"))
        assert resp.status_code == 200

    async def test_other_accounts_are_not_affected(self, hs: Homeserver) -> None:
        await hs.create_user("alice")
        await hs.create_user("bob")
        for attempt in range(5):
            await hs.http.post(
                "/_matrix/client/v3/login", json=password_login("alice", f"guess-{attempt}")
            )
        resp = await hs.http.post("/_matrix/client/v3/login", json=password_login("bob"))
        assert resp.status_code == 200


class TestLoginsPerAddress:
    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        return {"rate_limits": RateLimitsConfig(login_per_ip=RateLimit(per_second=0.5, burst=5))}

    async def test_many_logins_from_one_address_are_limited(self, hs: Homeserver) -> None:
        names = [f"user{i}" for i in range(6)]
        for name in names:
            await hs.create_user(name)
        statuses = []
        for name in names:
            resp = await hs.http.post("/_matrix/client/v3/login", json=password_login(name))
            statuses.append(resp.status_code)
        assert statuses == [200] * 5 + [429]
        hs.clock.advance(2)
        resp = await hs.http.post("/_matrix/client/v3/login", json=password_login(names[-1]))
        assert resp.status_code == 200


async def test_honest_busy_client_is_not_rate_limited(hs: Homeserver) -> None:
    """A bot making hundreds of requests in a burst is honest and must not be slowed."""
    alice = await hs.register_user("alice")
    for _ in range(300):
        resp = await alice.get("/account/whoami")
        assert resp.status_code == 200


async def test_no_refresh_token_is_issued_and_none_is_known(hs: Homeserver) -> None:
    """spec: `refresh_token` "Omitted if the server does not support refresh tokens" even when
    the client asks for one; `POST /refresh` with any token: "401 The provided token was
    unknown", M_UNKNOWN_TOKEN, so the client logs in again."""
    await hs.create_user("alice")
    resp = await hs.http.post(
        "/_matrix/client/v3/login",
        json={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "alice"},
            "password": PASSWORD,
            "refresh_token": True,
        },
    )
    assert resp.status_code == 200
    assert "refresh_token" not in resp.json()
    assert "expires_in_ms" not in resp.json()
    refreshed = await hs.http.post("/_matrix/client/v3/refresh", json={"refresh_token": "x"})
    assert errcode(refreshed) == (401, "M_UNKNOWN_TOKEN")
    assert refreshed.json()["soft_logout"] is False
