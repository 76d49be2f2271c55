"""A real client library after single sign-on: matrix-nio's `login(token=...)` sends the spec's
`{"type": "m.login.token", "token": ...}` (client-server-api#login) over HTTP to Bastion served
by uvicorn on 127.0.0.1, as Element and FluffyChat do after the browser returns the token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nio import AsyncClient, AsyncClientConfig, LoginError, LoginResponse, WhoamiResponse

from tests.api.test_sso import TRUSTED, config_overrides, idp, login_token_of, sign_in
from tests.conftest import Homeserver
from tests.loopback_uvicorn import served_on_loopback

__all__ = ["config_overrides", "idp"]  # the SSO test module's fixtures: one IdP, trusted client


@pytest.fixture
async def served(hs: Homeserver) -> AsyncIterator[str]:
    """`hs` over real HTTP, for a client library with its own transport."""
    async with served_on_loopback(hs.runtime) as port:
        yield f"http://127.0.0.1:{port}"


async def test_nio_logs_in_with_the_login_token(hs: Homeserver, served: str) -> None:
    alice = await hs.create_user("alice")
    token = login_token_of((await sign_in(hs, TRUSTED)).headers["location"])
    client = AsyncClient(served, config=AsyncClientConfig(store_sync_tokens=False))
    replay = AsyncClient(served)
    try:
        login = await client.login(token=token, device_name="FluffyChat")
        assert isinstance(login, LoginResponse), login
        assert login.user_id == alice
        whoami = await client.whoami()
        assert isinstance(whoami, WhoamiResponse), whoami
        assert whoami.user_id == alice
        again = await replay.login(token=token)  # single use
        assert isinstance(again, LoginError)
        assert again.status_code == "M_FORBIDDEN"
    finally:
        await client.close()
        await replay.close()
