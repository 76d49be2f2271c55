"""A real client library after single sign-on: matrix-nio's `login(token=...)` sends the spec's
`{"type": "m.login.token", "token": ...}` (client-server-api#login) over HTTP to Bastion served
by uvicorn on 127.0.0.1, as Element and FluffyChat do after the browser returns the token."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from nio import AsyncClient, AsyncClientConfig, LoginError, LoginResponse, WhoamiResponse

from bastion.app import create_app
from tests.api.test_sso import TRUSTED, config_overrides, idp, login_token_of, sign_in
from tests.conftest import Homeserver

__all__ = ["config_overrides", "idp"]  # the SSO test module's fixtures: one IdP, trusted client


@pytest.fixture
async def served(hs: Homeserver) -> AsyncIterator[str]:
    """`hs` over real HTTP, for a client library with its own transport."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(hs.runtime), loop="asyncio", lifespan="off", log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(200):  # bounded: until the server listens
            if server.started:
                break
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, timeout=10)
        sock.close()


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
