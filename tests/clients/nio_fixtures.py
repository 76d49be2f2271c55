"""A matrix-nio client factory and the client actions the nio tests share."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from nio import AsyncClient, AsyncClientConfig, LoginResponse, RoomSendResponse, SyncResponse

from tests.clients.server import PASSWORD, BastionServer

# No retries: a rate limit or a timeout should fail the test, not stretch it.
NIO_CONFIG = AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0, request_timeout=10)

NioFactory = Callable[[str], AsyncClient]
JsonObject = dict[str, Any]
SYNC_TIMEOUT_MS = 5000  # long-poll bound for a sync that waits for something new


@pytest.fixture
async def nio_client(bastion_server: BastionServer) -> AsyncIterator[NioFactory]:
    """Makes nio clients for a user on the running server; closes every one afterwards."""
    clients: list[AsyncClient] = []

    def make(user: str) -> AsyncClient:
        client = AsyncClient(bastion_server.base_url, user, config=NIO_CONFIG)
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in clients:
            await client.close()


async def nio_request(
    client: AsyncClient, method: str, path: str, body: JsonObject | None = None
) -> tuple[int, JsonObject]:
    """An endpoint nio has no method for, sent through nio's own transport and access token.

    `path` is the whole path and query (nio's `Api._build_path` makes one); the answer is the
    HTTP status and the body as nio parses it ({} if it is not JSON).
    """
    headers = {"Authorization": f"Bearer {client.access_token}"}
    headers["Content-Type"] = "application/json"
    data = json.dumps(body) if body is not None else None
    response = await client.send(method, path, data, headers)
    try:
        parsed: JsonObject = await client.parse_body(response)
    finally:
        response.release()
    return response.status, parsed


async def log_in(client: AsyncClient, device_name: str) -> None:
    """Password login as a new device."""
    response = await client.login(PASSWORD, device_name=device_name)
    assert isinstance(response, LoginResponse), response


async def sync(client: AsyncClient, **kwargs: Any) -> SyncResponse:
    """One /sync from nio's own `next_batch` (initial if it has none), long-polling if nothing
    is new; bounded by SYNC_TIMEOUT_MS unless `timeout` says otherwise."""
    kwargs.setdefault("timeout", SYNC_TIMEOUT_MS)
    response = await client.sync(**kwargs)
    assert isinstance(response, SyncResponse), response
    return response


async def send(client: AsyncClient, room_id: str, event_type: str, content: JsonObject) -> str:
    """Send an event through nio; its event ID."""
    response = await client.room_send(room_id, event_type, content)
    assert isinstance(response, RoomSendResponse), response
    event_id: str = response.event_id
    return event_id


async def send_text(client: AsyncClient, room_id: str, body: str) -> str:
    """Send a plain-text message through nio; its event ID."""
    return await send(client, room_id, "m.room.message", {"msgtype": "m.text", "body": body})
