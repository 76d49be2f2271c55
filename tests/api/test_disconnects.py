"""Clients that hang up: nothing is logged as an error and a long poll stops at once."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bastion.app import create_app
from bastion.app.http_transport import CoalescingHttpToolsProtocol
from tests.conftest import Homeserver
from tests.loopback_uvicorn import served_on_loopback


def http_scope(method: str, path: str, token: str, query: str = "") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"authorization", f"Bearer {token}".encode()), (b"host", b"bastion.test")],
        "client": ("127.0.0.1", 5000),
        "server": ("bastion.test", 80),
    }


async def test_hang_up_while_sending_a_body_is_not_an_error(
    hs: Homeserver, caplog: pytest.LogCaptureFixture
) -> None:
    alice = await hs.register_user("alice")
    app = create_app(hs.runtime)
    messages = [{"type": "http.request", "body": b'{"preset":', "more_body": True}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(_message: dict[str, Any]) -> None:
        return None

    with caplog.at_level(logging.DEBUG):
        await app(http_scope("POST", "/_matrix/client/v3/createRoom", alice.token), receive, send)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert (await alice.get("/joined_rooms")).json()["joined_rooms"] == []


async def test_long_poll_ends_when_the_client_hangs_up(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    token = (await alice.sync())["next_batch"]
    app = create_app(hs.runtime)
    hung_up = asyncio.Event()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if not sent and not hung_up.is_set() and not getattr(receive, "body_read", False):
            receive.body_read = True  # type: ignore[attr-defined]
            return {"type": "http.request", "body": b"", "more_body": False}
        await hung_up.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = http_scope(
        "GET", "/_matrix/client/v3/sync", alice.token, f"since={token}&timeout=60000"
    )
    polling = asyncio.create_task(app(scope, receive, send))
    await hs.wait_for_waiting_syncs(1)
    hung_up.set()
    await asyncio.wait_for(polling, timeout=5)  # not the 60 s the poll asked for
    assert hs.runtime.wakeups.waiting_users() == 0


async def test_a_long_poll_cancelled_by_the_server_is_not_taken_for_a_hang_up(
    hs: Homeserver,
) -> None:
    """A parked /sync cancelled from outside (the server shutting down) is cancelled: only the
    client's hang-up ends a poll quietly (api/long_poll.py absorbs the watcher's cancellation
    and no other), so nothing is answered and the poll leaves no waiter behind."""
    alice = await hs.register_user("alice")
    token = (await alice.sync())["next_batch"]
    app = create_app(hs.runtime)
    never = asyncio.Event()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if not getattr(receive, "body_read", False):
            receive.body_read = True  # type: ignore[attr-defined]
            return {"type": "http.request", "body": b"", "more_body": False}
        await never.wait()  # the client stays connected
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = http_scope(
        "GET", "/_matrix/client/v3/sync", alice.token, f"since={token}&timeout=60000"
    )
    polling = asyncio.create_task(app(scope, receive, send))
    await hs.wait_for_waiting_syncs(1)
    polling.cancel()
    with pytest.raises(asyncio.CancelledError):
        await polling
    assert sent == []
    assert hs.runtime.wakeups.waiting_users() == 0


async def test_a_long_poll_over_the_serving_protocol_ends_when_its_connection_drops(
    hs: Homeserver,
) -> None:
    """Through the HTTP server bastion serves with (uvicorn and app/http_transport.py): a
    client that closes its connection while its /sync is parked leaves no waiting sync behind
    (the poll ends at once), and a poll that is answered still is."""
    alice = await hs.register_user("alice")
    token = (await alice.sync())["next_batch"]
    async with served_on_loopback(hs.runtime, http=CoalescingHttpToolsProtocol) as port:
        request = (
            f"GET /_matrix/client/v3/sync?since={token}&timeout=60000 HTTP/1.1\r\n"
            f"Host: bastion.test\r\nAuthorization: Bearer {alice.token}\r\n\r\n"
        ).encode()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        await hs.wait_for_waiting_syncs(1)
        writer.close()
        await hs.wait_for_waiting_syncs(0)  # not the 60 s the poll asked for

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request.replace(b"timeout=60000", b"timeout=0"))
        status = await asyncio.wait_for(reader.readline(), timeout=10)
        assert status.startswith(b"HTTP/1.1 200")
        writer.close()
