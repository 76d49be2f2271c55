"""A real client library on both sides of "sign in with another device" (POST /login/get_token),
over HTTP to Bastion served by uvicorn on 127.0.0.1: matrix-nio reads the login flows (with
`get_login_token`), the signed-in client asks for a token through the UIA exchange, and a
second client logs in with `login(token=...)`, once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    LoginError,
    LoginInfoResponse,
    LoginResponse,
    SyncResponse,
    WhoamiResponse,
)

from tests.api.test_login_get_token import GET_TOKEN, config_overrides
from tests.conftest import PASSWORD, Homeserver
from tests.loopback_uvicorn import served_on_loopback

__all__ = ["config_overrides"]  # `hs` with [login_via_existing_session] enabled


@pytest.fixture
async def served(hs: Homeserver) -> AsyncIterator[str]:
    """`hs` over real HTTP, for a client library with its own transport."""
    async with served_on_loopback(hs.runtime) as port:
        yield f"http://127.0.0.1:{port}"


async def ask_for_token(client: AsyncClient, auth: dict[str, Any] | None) -> tuple[int, Any]:
    """The request Element's signed-in device sends, through nio's own transport."""
    body = {} if auth is None else {"auth": auth}
    headers = {"Authorization": f"Bearer {client.access_token}"}
    response = await client.send("POST", GET_TOKEN, json.dumps(body), headers=headers)
    return response.status, await response.json()


async def test_nio_signs_in_a_second_device_with_a_token(hs: Homeserver, served: str) -> None:
    alice = await hs.create_user("alice")
    config = AsyncClientConfig(store_sync_tokens=False)
    first, second, replay = (
        AsyncClient(served, "alice", config=config),
        AsyncClient(served),
        AsyncClient(served),
    )
    try:
        flows = await second.login_info()
        assert isinstance(flows, LoginInfoResponse), flows
        assert "m.login.token" in flows.flows
        assert isinstance(await first.login(PASSWORD, device_name="Laptop"), LoginResponse)
        status, challenge = await ask_for_token(first, None)
        assert status == 401
        identifier = {"type": "m.id.user", "user": "alice"}
        auth = {"type": "m.login.password", "identifier": identifier, "password": PASSWORD,
                "session": challenge["session"]}  # fmt: skip
        status, issued = await ask_for_token(first, auth)
        assert status == 200, issued
        login = await second.login(token=issued["login_token"], device_name="Phone")
        assert isinstance(login, LoginResponse), login
        assert (login.user_id, login.device_id != first.device_id) == (alice, True)
        whoami = await second.whoami()
        assert isinstance(whoami, WhoamiResponse), whoami
        assert whoami.user_id == alice
        assert isinstance(await second.sync(timeout=0), SyncResponse)
        again = await replay.login(token=issued["login_token"])  # single use
        assert isinstance(again, LoginError)
        assert again.status_code == "M_FORBIDDEN"
    finally:
        for client in (first, second, replay):
            await client.close()
