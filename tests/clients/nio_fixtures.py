"""A matrix-nio client factory for tests against the running server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from nio import AsyncClient, AsyncClientConfig

from tests.clients.server import BastionServer

# No retries: a rate limit or a timeout should fail the test, not stretch it.
NIO_CONFIG = AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0, request_timeout=10)

NioFactory = Callable[[str], AsyncClient]
JsonObject = dict[str, Any]


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
