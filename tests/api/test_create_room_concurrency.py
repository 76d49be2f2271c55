"""POST /createRoom under concurrent load, on both databases.

The app is called from concurrent tasks, eight at a time; on PostgreSQL the requests really
overlap (counted at the ASGI boundary) and their transactions run side by side on the pool's
connections, where a transaction that waits for a second connection while holding one can
deadlock the pool, and a check-then-insert can lose to a transaction that has not committed yet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bastion.app import create_app
from tests.conftest import Homeserver, UserClient, errcode

USERS = 20
ROOMS = 200
AT_A_TIME = 8


class _InFlight:
    """ASGI wrapper counting how many requests the app is serving at once (the app unchanged)."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self._app = app
        self.now = 0
        self.most = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await self._app(scope, receive, send)
        finally:
            self.now -= 1


def _counted_clients(hs: Homeserver, users: list[UserClient]) -> tuple[list[UserClient], _InFlight]:
    """The users again, speaking to the same runtime through an app that counts requests."""
    counter = _InFlight(create_app(hs.runtime))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=counter), base_url=hs.http.base_url)
    return [UserClient(http, u.user_id, u.device_id, u.token) for u in users], counter


async def _bounded(calls: list[Callable[[], Awaitable[httpx.Response]]]) -> list[httpx.Response]:
    """Run `calls` AT_A_TIME at a time. A deadlock fails the test instead of hanging it."""
    gate = asyncio.Semaphore(AT_A_TIME)

    async def run(call: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
        async with gate:
            return await call()

    async with asyncio.timeout(300):
        return await asyncio.gather(*(run(call) for call in calls))


def _create(user: UserClient, **body: Any) -> Callable[[], Awaitable[httpx.Response]]:
    return lambda: user.post("/createRoom", json=body)


async def test_concurrent_room_creation(hs: Homeserver, db_kind: str) -> None:
    """spec: client-server-api#post_matrixclientv3createroom: "Create a new room with various
    configuration options." and 400 is for an invalid request, e.g. "The room alias specified
    is already taken (`errcode` set to `M_ROOM_IN_USE`)". No alias asked for: no such error.

    Each user sends ten in a row, so up to eight of one user's requests overlap: with the test
    clock standing still their create events are identical but for the room each must get.
    """
    users = [await hs.register_user(f"user{i}") for i in range(USERS)]
    users, in_flight = _counted_clients(hs, users)
    per_user = ROOMS // USERS
    calls = [_create(users[i // per_user], name=f"Room {i}") for i in range(ROOMS)]

    responses = await _bounded(calls)

    refused = [(r.status_code, r.text) for r in responses if r.status_code != 200]
    assert refused == []
    room_ids = {r.json()["room_id"] for r in responses}
    assert len(room_ids) == ROOMS
    if db_kind == "postgres":  # SQLite runs on the event loop: a request may never yield
        assert in_flight.most == AT_A_TIME
    for user in users:
        joined = (await user.get("/joined_rooms")).json()["joined_rooms"]
        assert len(joined) == per_user
    await users[0].http.aclose()


async def test_concurrent_alias_clash_is_room_in_use(hs: Homeserver) -> None:
    """spec: client-server-api#post_matrixclientv3createroom: "The room alias specified is
    already taken (`errcode` set to `M_ROOM_IN_USE`)"; only that clash gets this errcode."""
    users = [await hs.register_user(f"user{i}") for i in range(AT_A_TIME)]
    calls = [_create(user, room_alias_name="ward-7") for user in users]

    responses = await _bounded(calls)

    outcomes = sorted(errcode(r) if r.status_code != 200 else (200, None) for r in responses)
    assert outcomes == [(200, None)] + [(400, "M_ROOM_IN_USE")] * (AT_A_TIME - 1)
    winner = next(r.json()["room_id"] for r in responses if r.status_code == 200)
    resolved = await users[0].get(f"/directory/room/%23ward-7:{hs.server_name}")
    assert resolved.json()["room_id"] == winner
