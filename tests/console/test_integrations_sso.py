"""The integrations page's identity providers (console/integrations.py): each configured
provider, whether it makes accounts, and how reading its discovery document last went, which
is where an admin looks first when people cannot sign in. Never a client secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bastion.config import DatabaseConfig
from bastion.config_sso import SsoConfig, SsoProvider
from tests.api import test_sso
from tests.conftest import Homeserver, client_path, homeserver_with
from tests.console.client import ConsoleClient
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcTestProvider

idp = test_sso.idp  # a provider on loopback
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing answers


@pytest.fixture
def config_overrides(idp: OidcTestProvider) -> dict[str, Any]:
    down = SsoProvider(
        id="legacy", name="Legacy IdP", issuer=UNREACHABLE, client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET, create_accounts=True,
    )  # fmt: skip
    providers = (test_sso.provider_config(idp.issuer), down)
    return {"sso": SsoConfig(providers=providers, client_redirects=(test_sso.TRUSTED,))}


async def test_each_provider_and_how_its_discovery_went(
    hs: Homeserver, console: ConsoleClient, idp: OidcTestProvider
) -> None:
    page = await console.get("/integrations")
    assert page.status_code == 200
    assert "<bdi>Corporate</bdi> (<bdi>corp</bdi>)" in page.text
    assert f"<bdi>{idp.issuer}</bdi>" in page.text
    assert page.text.count("Not read yet: at the first sign-in") == 2
    assert "Made at a person's first sign-in" in page.text  # legacy creates accounts
    assert "Existing accounts only" in page.text
    assert CLIENT_SECRET not in page.text

    await hs.create_user("alice")
    started = await test_sso.start(hs, test_sso.TRUSTED, test_sso.REDIRECT + "/corp")
    assert (await hs.http.get(await test_sso.through_idp(started))).status_code == 302
    down = await hs.http.get(
        client_path("/login/sso/redirect/legacy"), params={"redirectUrl": test_sso.TRUSTED}
    )
    assert down.status_code == 502
    page = await console.get("/integrations")
    assert page.text.count("Not read yet") == 0
    assert page.text.count("Read ") == 1  # corp
    assert "Failing since" in page.text  # legacy, with the reason
    assert f"{UNREACHABLE}/.well-known/openid-configuration: ConnectError" in page.text
    assert CLIENT_SECRET not in page.text


async def test_without_single_sign_on_the_page_says_so(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    async with homeserver_with(tmp_path, database_config) as plain:
        await plain.create_user("root", admin=True)
        browser = ConsoleClient(plain)
        try:
            assert (await browser.sign_in("root")).status_code == 303
            page = await browser.get("/integrations")
            assert "Single sign-on is not configured." in page.text
        finally:
            await browser.aclose()
