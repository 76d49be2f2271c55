"""POST /register in its three modes, /register/available, and registration tokens."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import OPERATOR, PASSWORD, Homeserver, open_registration, token_registration

REGISTER = "/_matrix/client/v3/register"


async def test_registration_is_disabled_by_default(hs: Homeserver) -> None:
    body = {"username": "mallory", "password": PASSWORD, "auth": {"type": "m.login.dummy"}}
    resp = await hs.http.post(REGISTER, json=body)
    assert (resp.status_code, resp.json()["errcode"]) == (403, "M_FORBIDDEN")
    resp = await hs.http.get(f"{REGISTER}/available?username=mallory")
    assert (resp.status_code, resp.json()["errcode"]) == (403, "M_FORBIDDEN")
    assert await hs.runtime.db.fetch_val("SELECT COUNT(*) FROM users") == 0


class TestOpenRegistration:
    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        return open_registration()

    async def test_dummy_flow_registers_and_logs_in(self, hs: Homeserver) -> None:
        resp = await hs.http.post(REGISTER, json={"username": "bob", "password": PASSWORD})
        assert resp.status_code == 401
        challenge = resp.json()
        assert challenge["flows"] == [{"stages": ["m.login.dummy"]}]
        body = {
            "username": "bob",
            "password": PASSWORD,
            "initial_device_display_name": "Phone",
            "auth": {"type": "m.login.dummy", "session": challenge["session"]},
        }
        resp = await hs.http.post(REGISTER, json=body)
        assert resp.status_code == 200, resp.text
        assert resp.json()["user_id"] == f"@bob:{hs.server_name}"
        headers = {"Authorization": f"Bearer {resp.json()['access_token']}"}
        whoami = await hs.http.get("/_matrix/client/v3/account/whoami", headers=headers)
        assert whoami.json()["user_id"] == f"@bob:{hs.server_name}"
        # The new account can log in with its password.
        await hs.login("bob")

    async def test_refusals(self, hs: Homeserver) -> None:
        dummy = {"type": "m.login.dummy"}
        await hs.create_user("taken")
        cases = [
            ({"username": "taken", "password": PASSWORD, "auth": dummy}, 400, "M_USER_IN_USE"),
            (
                {"username": "Bad Name", "password": PASSWORD, "auth": dummy},
                400,
                "M_INVALID_USERNAME",
            ),
            ({"username": "_reserved", "auth": dummy}, 400, "M_INVALID_USERNAME"),
            ({"username": "shortpw", "password": "abc", "auth": dummy}, 400, "M_WEAK_PASSWORD"),
            (
                {"username": "x", "auth": {"type": "m.login.dummy", "session": "forged"}},
                400,
                "M_UNKNOWN",
            ),
        ]
        for body, status, errcode in cases:
            resp = await hs.http.post(REGISTER, json=body)
            assert (resp.status_code, resp.json()["errcode"]) == (status, errcode), body
        resp = await hs.http.post(f"{REGISTER}?kind=guest", json={"auth": dummy})
        assert (resp.status_code, resp.json()["errcode"]) == (403, "M_FORBIDDEN")

    async def test_inhibit_login_returns_no_token(self, hs: Homeserver) -> None:
        body = {
            "username": "quiet",
            "password": PASSWORD,
            "inhibit_login": True,
            "auth": {"type": "m.login.dummy"},
        }
        resp = await hs.http.post(REGISTER, json=body)
        assert resp.status_code == 200
        assert "access_token" not in resp.json()
        assert await hs.runtime.db.fetch_val("SELECT COUNT(*) FROM devices") == 0

    async def test_username_availability(self, hs: Homeserver) -> None:
        await hs.create_user("taken")
        resp = await hs.http.get(f"{REGISTER}/available?username=free")
        assert resp.json() == {"available": True}
        resp = await hs.http.get(f"{REGISTER}/available?username=taken")
        assert (resp.status_code, resp.json()["errcode"]) == (400, "M_USER_IN_USE")
        resp = await hs.http.get(f"{REGISTER}/available?username=No!")
        assert (resp.status_code, resp.json()["errcode"]) == (400, "M_INVALID_USERNAME")
        resp = await hs.http.get(f"{REGISTER}/available")
        assert (resp.status_code, resp.json()["errcode"]) == (400, "M_MISSING_PARAM")


class TestTokenRegistration:
    @pytest.fixture
    def config_overrides(self) -> dict[str, Any]:
        return token_registration()

    async def test_token_admits_exactly_its_uses(self, hs: Homeserver) -> None:
        registration = hs.runtime.services.registration
        token = await registration.create_token(OPERATOR, uses_allowed=2, expiry_ts=None)
        resp = await hs.http.post(REGISTER, json={"username": "a1", "password": PASSWORD})
        assert resp.json()["flows"] == [{"stages": ["m.login.registration_token"]}]

        validity = "/_matrix/client/v1/register/m.login.registration_token/validity"
        assert (await hs.http.get(f"{validity}?token={token}")).json() == {"valid": True}
        assert (await hs.http.get(f"{validity}?token=unknown")).json() == {"valid": False}

        auth = {"type": "m.login.registration_token", "token": token}
        for name in ("a1", "a2"):
            resp = await hs.http.post(
                REGISTER, json={"username": name, "password": PASSWORD, "auth": auth}
            )
            assert resp.status_code == 200, resp.text
        resp = await hs.http.post(
            REGISTER, json={"username": "a3", "password": PASSWORD, "auth": auth}
        )
        assert (resp.status_code, resp.json()["errcode"]) == (401, "M_FORBIDDEN")
        assert "flows" in resp.json()
        assert (await hs.http.get(f"{validity}?token={token}")).json() == {"valid": False}

    async def test_expired_or_wrong_token_and_wrong_stage_are_refused(self, hs: Homeserver) -> None:
        registration = hs.runtime.services.registration
        token = await registration.create_token(
            OPERATOR, uses_allowed=None, expiry_ts=hs.clock.now_ms() + 60_000
        )
        hs.clock.advance(61)
        for auth in (
            {"type": "m.login.registration_token", "token": token},
            {"type": "m.login.registration_token", "token": "never-issued"},
        ):
            resp = await hs.http.post(REGISTER, json={"username": "late", "auth": auth})
            assert (resp.status_code, resp.json()["errcode"]) == (401, "M_FORBIDDEN")
        # The dummy stage is not offered in token mode.
        resp = await hs.http.post(
            REGISTER, json={"username": "late", "auth": {"type": "m.login.dummy"}}
        )
        assert resp.status_code == 401
        assert resp.json()["flows"] == [{"stages": ["m.login.registration_token"]}]
        assert await hs.runtime.db.fetch_val("SELECT COUNT(*) FROM users") == 0


async def test_generated_registration_tokens_are_plain_alphanumerics(hs: Homeserver) -> None:
    """A token starting with '-' would be read as an option by the CLI."""
    registration = hs.runtime.services.registration
    for _ in range(200):
        token = await registration.create_token(OPERATOR, uses_allowed=1, expiry_ts=None)
        assert token.isalnum()
        assert len(token) == 20
