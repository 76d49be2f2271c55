"""Accounts made at a first sign-in, for a provider with `create_accounts` (off by default:
tests/api/test_sso.py refuses a person without an account). The new account has no password,
the ID token's display name, the subject linked; its creation is audited as the server acting
for the provider; a deactivated account is not remade, and another subject whose username names
an account made this way is still refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bastion.config import DatabaseConfig
from bastion.config_sso import SsoConfig, SsoProvider
from bastion.services.audit.reader import AuditQuery
from tests.api import test_sso
from tests.conftest import OPERATOR, Homeserver, client_path, errcode, homeserver_with
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcTestProvider

idp = test_sso.idp  # a provider on loopback


def _creating(issuer: str) -> SsoConfig:
    corp = SsoProvider(
        id="corp", name="Corporate", issuer=issuer, client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET, create_accounts=True,
    )  # fmt: skip
    return SsoConfig(providers=(corp,), client_redirects=(test_sso.TRUSTED,))


async def _signed_in(home: Homeserver) -> dict[str, str]:
    finished = await test_sso.sign_in(home)
    assert finished.status_code == 302, finished.text
    login = await test_sso.token_login(home, test_sso.login_token_of(finished.headers["location"]))
    assert login.status_code == 200, login.text
    body: dict[str, str] = login.json()
    return body


async def test_a_first_sign_in_creates_the_account(
    tmp_path: Path, database_config: DatabaseConfig, idp: OidcTestProvider
) -> None:
    idp.username = "Nadia.Haddad"
    idp.claims = {"name": "Nadia Haddad"}
    async with homeserver_with(tmp_path, database_config, sso=_creating(idp.issuer)) as home:
        first = await _signed_in(home)
        assert first["user_id"] == "@nadia.haddad:test.bastion"
        details = await home.runtime.services.admin_users.get_user(OPERATOR, first["user_id"])
        assert details.profile.displayname == "Nadia Haddad"
        assert details.external_ids == [("corp", "sub-Nadia.Haddad")]
        assert not details.user.is_admin
        assert details.user.password_hash is None  # signs in with the provider only
        records = await home.runtime.services.audit_log.list(
            OPERATOR, AuditQuery(action="user.create", target=first["user_id"])
        )
        (created,) = records
        assert created.actor_kind == "server"
        assert json.loads(created.details) == {
            "actor_name": "server (single sign-on with corp)",
            "sso": "corp",
        }
        # The next sign-in finds it (by its subject), creates nothing.
        again = await _signed_in(home)
        assert again["user_id"] == first["user_id"]
        assert len(await home.runtime.services.audit_log.list(
            OPERATOR, AuditQuery(action="user.create")
        )) == 1  # fmt: skip
        # A password login has nothing to check against.
        password = await home.http.post(client_path("/login"), json={
            "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "nadia.haddad"},
            "password": "anything at all",
        })  # fmt: skip
        assert errcode(password) == (403, "M_FORBIDDEN")


async def test_what_a_first_sign_in_does_not_create(
    tmp_path: Path, database_config: DatabaseConfig, idp: OidcTestProvider
) -> None:
    async with homeserver_with(tmp_path, database_config, sso=_creating(idp.issuer)) as home:
        # A deactivated account stays closed: not remade, not reopened.
        gone = await home.create_user("gone")
        await home.runtime.services.accounts.deactivate(OPERATOR, gone)
        idp.username = "gone"
        page = await test_sso.sign_in(home)
        assert page.status_code == 403
        assert "no active account" in page.text
        # A username that maps to no valid localpart.
        idp.username = "ümlaut sign"
        idp.claims = {"preferred_username": "  "}
        assert (await test_sso.sign_in(home)).status_code == 403
        # Made for one subject; another subject with that username is refused.
        idp.claims = {}
        idp.username = "omar"
        await _signed_in(home)
        idp.claims = {"sub": "sub-someone-else", "preferred_username": "omar@corp.example"}
        page = await test_sso.sign_in(home)
        assert page.status_code == 403
        assert "linked to another sign-in" in page.text


@pytest.mark.parametrize("name", [None, "x" * 300])
async def test_the_display_name_claim_is_optional_and_bounded(
    tmp_path: Path, database_config: DatabaseConfig, idp: OidcTestProvider, name: str | None
) -> None:
    idp.username = "rafal"
    idp.claims = {"name": name}
    async with homeserver_with(tmp_path, database_config, sso=_creating(idp.issuer)) as home:
        user_id = (await _signed_in(home))["user_id"]
        profile = (await home.runtime.services.admin_users.get_user(OPERATOR, user_id)).profile
        assert profile.displayname == ("rafal" if name is None else "x" * 256)
