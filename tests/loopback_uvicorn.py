"""An in-process runtime served by uvicorn on 127.0.0.1, for clients that need real HTTP (a
client library with its own transport, a raw socket): one place for the start and stop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from bastion.app import Runtime, create_app


@asynccontextmanager
async def served_on_loopback(runtime: Runtime, **options: Any) -> AsyncIterator[int]:
    """The port `runtime` is served on (uvicorn `options`, e.g. `http=`), until the block ends."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        create_app(runtime), loop="asyncio", lifespan="off", log_config=None, access_log=False,
        **options,
    )  # fmt: skip
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(200):  # bounded: until the server listens
            if server.started:
                break
            await asyncio.sleep(0.01)
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, timeout=10)
        sock.close()
