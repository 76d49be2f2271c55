"""Push notifications from the real `bastion serve` to a real push gateway on 127.0.0.1.

The serving app's lifespan runs the push worker: a message is pushed without anything but the
send, a 500 from the gateway is retried (the first backoff is one second of real time), and a
restart neither repeats what was delivered nor loses what was not. Every wait is bounded
(`PushGateway.received`); the gateway checks each body against the spec's request schema.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.api.push_gateway import PushGateway, check_schema, running_gateway
from tests.clients.server import BastionServer
from tests.integration.test_long_poll import User

APP_ID = "org.example.chat.ios"


@pytest.fixture
def gateway() -> Iterator[PushGateway]:
    yield from running_gateway()


@pytest.fixture
async def http(bastion_server: BastionServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=bastion_server.base_url, timeout=httpx.Timeout(30.0), trust_env=False
    ) as client:
        yield client


async def test_serve_pushes_retries_and_resumes_after_restart(
    bastion_server: BastionServer, http: httpx.AsyncClient, gateway: PushGateway
) -> None:
    """'This endpoint is invoked by HTTP pushers to notify a push gateway about an event';
    duplicates are avoided across restarts, failures retried."""
    alice = await User.create(bastion_server, http, "alice")
    bob = await User.create(bastion_server, http, "bob")
    room_id = await alice.create_room(bob.user_id)
    await bob.join(room_id)
    pusher = {
        "kind": "http", "app_id": APP_ID, "pushkey": "apns-token", "app_display_name": "Chat",
        "device_display_name": "iPhone", "lang": "en",
        "data": {"url": gateway.url, "format": "event_id_only"},
    }  # fmt: skip
    await bob.request("POST", "/pushers/set", json=pusher)

    gateway.answer(500)
    first = await alice.send_text(room_id, "first")
    bodies = await gateway.received(2)  # the 500, then the retry a second later
    assert [b["notification"]["event_id"] for b in bodies] == [first, first]
    for body in bodies:
        check_schema(body)
        assert "content" not in body["notification"]

    bastion_server.restart()
    second = await alice.send_text(room_id, "second")
    bodies = await gateway.received(3)
    assert [b["notification"]["event_id"] for b in bodies] == [first, first, second]
    assert bodies[-1]["notification"]["devices"][0]["pushkey"] == "apns-token"
