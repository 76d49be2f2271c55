"""Long polls end as soon as their client hangs up, so a departed client costs nothing and does
not hold up a graceful shutdown (GET /sync, POST sliding sync)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from starlette.requests import Request

T = TypeVar("T")


async def unless_hung_up(request: Request, poll: Coroutine[Any, Any, T]) -> T | None:
    """`poll`'s result, or None once the client has disconnected (then `poll` is cancelled).
    The request body must already have been read."""
    polling = asyncio.ensure_future(poll)
    hang_up = asyncio.ensure_future(_client_disconnected(request))
    try:
        await asyncio.wait((polling, hang_up), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (polling, hang_up):
            task.cancel()
        # Let the cancelled side clean up (its long-poll wait) before the handler returns.
        await asyncio.gather(polling, hang_up, return_exceptions=True)
    if polling.cancelled():
        return None  # nobody is listening
    return polling.result()


async def _client_disconnected(request: Request) -> None:
    """Return once the client has disconnected (the body, if any, has been read)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
