"""Long-polling /sync on the real server process: woken by what concerns the user, and only that.

A /sync with nothing new waits for the bus (bastion/pubsub/); a message in a room wakes the
syncs of the room's members straight away and nobody else's. Timing is measured with
`time.monotonic` around real HTTP requests on 127.0.0.1, with generous bounds: a woken sync must
answer within 1 s of the send, a sync nobody woke runs to (most of) its timeout.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.clients.server import PASSWORD, BastionServer

CLIENT = "/_matrix/client/v3"
WAKE_BOUND_S = 1.0  # a woken sync answers within this long after the send completes
SETTLE_S = 0.3  # time given to a sync to start waiting before anything happens
LONG_POLL_MS = 30_000
SHORT_POLL_MS = 2_000

JsonObject = dict[str, Any]
_txn_ids = itertools.count()


@pytest.fixture
async def http(bastion_server: BastionServer) -> AsyncIterator[httpx.AsyncClient]:
    # The read timeout sits above the longest long-poll, so only the server decides when a sync
    # answers; the test itself bounds every wait with asyncio.wait_for.
    async with httpx.AsyncClient(
        base_url=bastion_server.base_url, timeout=httpx.Timeout(45.0), trust_env=False
    ) as client:
        yield client


class User:
    """One logged-in account, speaking the client API through `http`."""

    def __init__(self, http: httpx.AsyncClient, user_id: str, token: str) -> None:
        self.http = http
        self.user_id = user_id
        self.headers = {"Authorization": f"Bearer {token}"}

    @classmethod
    async def create(cls, server: BastionServer, http: httpx.AsyncClient, localpart: str) -> User:
        user_id = server.create_user(localpart)
        login = await http.post(
            f"{CLIENT}/login",
            json={
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": localpart},
                "password": PASSWORD,
            },
        )
        assert login.status_code == 200, login.text
        return cls(http, user_id, login.json()["access_token"])

    async def request(self, method: str, path: str, **kwargs: Any) -> JsonObject:
        response = await self.http.request(
            method, f"{CLIENT}{path}", headers=self.headers, **kwargs
        )
        assert response.status_code == 200, (method, path, response.status_code, response.text)
        body: JsonObject = response.json()
        return body

    async def sync(self, since: str | None = None, timeout_ms: int | None = None) -> JsonObject:
        params: dict[str, str] = {}
        if since is not None:
            params["since"] = since
        if timeout_ms is not None:
            params["timeout"] = str(timeout_ms)
        return await self.request("GET", "/sync", params=params)

    async def create_room(self, *invitees: str) -> str:
        body = {"preset": "private_chat", "invite": list(invitees)}
        room_id: str = (await self.request("POST", "/createRoom", json=body))["room_id"]
        return room_id

    async def join(self, room_id: str) -> None:
        await self.request("POST", f"/join/{quote(room_id, safe='')}", json={})

    async def send_text(self, room_id: str, body: str) -> str:
        path = f"/rooms/{quote(room_id, safe='')}/send/m.room.message/txn{next(_txn_ids)}"
        content = {"msgtype": "m.text", "body": body}
        event_id: str = (await self.request("PUT", path, json=content))["event_id"]
        return event_id


def timeline_bodies(sync: JsonObject, room_id: str) -> list[str]:
    room = sync["rooms"]["join"].get(room_id)
    if room is None:
        return []
    return [e["content"].get("body") for e in room["timeline"]["events"]]


async def timed(awaitable: Any) -> tuple[JsonObject, float]:
    """The result of `awaitable` and the monotonic time when it arrived."""
    result: JsonObject = await awaitable
    return result, time.monotonic()


@pytest.fixture
async def users(bastion_server: BastionServer, http: httpx.AsyncClient) -> dict[str, User]:
    return {
        name: await User.create(bastion_server, http, name) for name in ("alice", "bob", "carol")
    }


async def shared_room(owner: User, *members: User) -> str:
    room_id = await owner.create_room(*(m.user_id for m in members))
    for member in members:
        await member.join(room_id)
    return room_id


async def test_message_wakes_members_sync_and_no_one_elses(users: dict[str, User]) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    room_id = await shared_room(alice, bob)
    await shared_room(alice, carol)  # carol shares a room with alice, just not this one
    bob_token = (await bob.sync())["next_batch"]
    carol_token = (await carol.sync())["next_batch"]

    started = time.monotonic()
    bob_sync = asyncio.create_task(timed(bob.sync(bob_token, LONG_POLL_MS)))
    carol_sync = asyncio.create_task(timed(carol.sync(carol_token, SHORT_POLL_MS)))
    try:
        await asyncio.sleep(SETTLE_S)
        assert not bob_sync.done(), "bob's sync answered with nothing new to say"
        assert not carol_sync.done(), "carol's sync answered with nothing new to say"

        event_id = await alice.send_text(room_id, "wake up, bob")
        sent = time.monotonic()

        # Fail fast if he was never woken, rather than waiting out his 30 s long-poll.
        bob_response, bob_answered = await asyncio.wait_for(bob_sync, WAKE_BOUND_S + 4)
        assert bob_answered - sent < WAKE_BOUND_S, f"bob woke {bob_answered - sent:.3f}s late"
        bob_events = bob_response["rooms"]["join"][room_id]["timeline"]["events"]
        assert [e["event_id"] for e in bob_events] == [event_id]
        assert timeline_bodies(bob_response, room_id) == ["wake up, bob"]

        carol_response, carol_answered = await asyncio.wait_for(
            carol_sync, SHORT_POLL_MS / 1000 + 5
        )
        assert carol_answered - started >= 1.5, (
            f"carol's sync answered after {carol_answered - started:.3f}s: woken by a message in "
            "a room she is not in"
        )
        assert carol_response["rooms"]["join"] == {}
        assert all(room_id not in rooms for rooms in carol_response["rooms"].values())
    finally:
        for task in (bob_sync, carol_sync):
            task.cancel()
        await asyncio.gather(bob_sync, carol_sync, return_exceptions=True)


async def test_sync_with_timeout_zero_returns_immediately(users: dict[str, User]) -> None:
    alice, bob = users["alice"], users["bob"]
    await shared_room(alice, bob)
    token = (await bob.sync())["next_batch"]

    for timeout_ms in (0, None):  # explicit 0, and the spec's default when absent
        before = time.monotonic()
        response = await asyncio.wait_for(bob.sync(token, timeout_ms), 5)
        elapsed = time.monotonic() - before
        assert elapsed < WAKE_BOUND_S, f"timeout={timeout_ms} sync took {elapsed:.3f}s"
        assert response["rooms"]["join"] == {}
        assert response["next_batch"]


async def test_sync_with_news_does_not_wait(users: dict[str, User]) -> None:
    alice, bob = users["alice"], users["bob"]
    room_id = await shared_room(alice, bob)
    token = (await bob.sync())["next_batch"]
    await alice.send_text(room_id, "already here")

    before = time.monotonic()
    response = await asyncio.wait_for(bob.sync(token, LONG_POLL_MS), LONG_POLL_MS / 1000)
    elapsed = time.monotonic() - before

    assert elapsed < WAKE_BOUND_S, f"a sync with something new waited {elapsed:.3f}s"
    assert timeline_bodies(response, room_id) == ["already here"]
