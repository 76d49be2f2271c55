"""Long polls end as soon as their client hangs up, so a departed client costs nothing and does
not hold up a graceful shutdown (GET /sync, POST sliding sync).

The poll runs in the request's own task; one watcher task waits for the hang-up and, when it
comes, cancels the request's task, whose cancellation `unless_hung_up` then absorbs (so a poll
costs one extra task, not two plus an `asyncio.wait`). Invariant: the watcher cancels the
request's task only while the poll is being awaited (its callback is removed before the poll's
result is returned), and a cancellation that did not come from the watcher (a server shutting
down) is re-raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from starlette.requests import Request

T = TypeVar("T")


async def unless_hung_up(request: Request, poll: Coroutine[Any, Any, T]) -> T | None:
    """`poll`'s result, or None once the client has disconnected (then `poll` is cancelled).
    The request body must already have been read."""
    task = asyncio.current_task()
    assert task is not None  # a request is always served by a task
    hung_up = False

    def on_hang_up(watcher: asyncio.Future[None]) -> None:
        nonlocal hung_up
        if watcher.cancelled():
            return
        watcher.exception()  # retrieved: a failed watcher counts as a hang-up, as before
        hung_up = True
        task.cancel()

    watcher = asyncio.ensure_future(_client_disconnected(request))
    watcher.add_done_callback(on_hang_up)
    try:
        return await poll  # cancelled within, so its clean-up has run when this raises
    except asyncio.CancelledError:
        if not hung_up or task.uncancel() > 0:
            raise  # cancelled by someone else (shutdown), not (only) by the hang-up
        return None  # nobody is listening
    finally:
        watcher.remove_done_callback(on_hang_up)
        watcher.cancel()


async def _client_disconnected(request: Request) -> None:
    """Return once the client has disconnected (the body, if any, has been read)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
