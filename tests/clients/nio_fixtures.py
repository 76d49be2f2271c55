"""A matrix-nio client factory for tests against the running server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from nio import AsyncClient, AsyncClientConfig

from tests.clients.server import BastionServer

# No retries: a rate limit or a timeout should fail the test, not stretch it.
NIO_CONFIG = AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0, request_timeout=10)

NioFactory = Callable[[str], AsyncClient]


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
