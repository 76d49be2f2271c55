"""One sliding-sync connection served by two processes on one PostgreSQL database (`[server]
workers = 2`, no sticky sessions: docs/scaling.md). Each process keeps the memory as of the pos
it issued last (services/sliding_sync/connection.py); the other one reads it from the database.
PostgreSQL only: SQLite has one process."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Homeserver, UserClient, errcode
from tests.integration.test_shared_stream import beat, two_servers

from .sliding_client import SlidingClient, all_rooms

pytestmark = pytest.mark.postgres
__all__ = ["two_servers"]  # the fixture, used by name below

BODY = {"lists": {"all": all_rooms(0, 9)}}


@pytest.fixture
def db_kind() -> str:
    """PostgreSQL only (skipped without BASTION_TEST_PG_DSN)."""
    from tests.conftest import PG_DSN_VAR, pg_dsn

    if pg_dsn() is None:
        pytest.skip(f"{PG_DSN_VAR} is not set (run under scripts/with-postgres)")
    return "postgres"


def _on(server: Homeserver, user: UserClient) -> UserClient:
    """The same device (token) talking to another process."""
    return UserClient(server.http, user.user_id, user.device_id, user.token)


def _seq(pos: str) -> str:
    found = re.search(r"_ss[0-9a-f]+x(\d+)", pos)
    assert found is not None, pos
    return found[1]


async def _timeline_bodies(client: SlidingClient) -> dict[str, list[str]]:
    response = await client.sync(BODY)
    return {
        room_id: [e["content"].get("body", "") for e in room.get("timeline", [])]
        for room_id, room in response.get("rooms", {}).items()
    }


async def test_a_connection_goes_on_from_either_process(
    two_servers: tuple[Homeserver, Homeserver],
) -> None:
    """MSC4186: the server "remembers what it has sent" per connection and `pos` names what the
    client has. Requests of one connection alternating between two processes (each keeping
    the memory of the pos it issued) get every message exactly once: nothing the other process
    sent is sent again, nothing sent meanwhile is missed."""
    first, second = two_servers
    await first.create_user("alice")
    alice = await first.login("alice")
    rooms = [await alice.create_room(name=f"Ward {i}") for i in range(3)]
    await beat(first, second)
    client = SlidingClient(alice)
    await client.sync(BODY)
    seen: list[tuple[str, str]] = []
    servers = [first, first, second, second, first, second, first]
    for n, server in enumerate(servers):
        await alice.send_text(rooms[n % 3], f"news {n}")
        await beat(first, second)
        client.user = _on(server, alice)
        for room_id, bodies in (await _timeline_bodies(client)).items():
            seen += [(room_id, body) for body in bodies]
    assert seen == [(rooms[n % 3], f"news {n}") for n in range(len(servers))]


async def test_a_retry_served_elsewhere_replaces_what_this_process_kept(
    two_servers: tuple[Homeserver, Homeserver],
) -> None:
    """MSC4186: "The server MUST ensure that any per-connection state it tracks correctly
    handles receiving multiple requests with the latest `pos` token (e.g. the client retries
    the request)". A client retries pos P on the other process (the first's answer was lost):
    that answer replaces the first's. The first process's kept memory of its own answer is then
    stale: a request from that answer is refused with M_UNKNOWN_POS (the client starts again)
    rather than served from it, and the retried answer's pos goes on on either process."""
    first, second = two_servers
    await first.create_user("alice")
    alice = await first.login("alice")
    rooms = [await alice.create_room(name=f"Ward {i}") for i in range(2)]
    await beat(first, second)
    client = SlidingClient(alice)
    await client.sync(BODY)
    await alice.send_text(rooms[0], "one")
    await beat(first, second)
    await client.sync(BODY)  # stored by a full request: the next is a woken one
    retried = client.pos
    # a new room: the answers store it (connection.py: one that only moves stream positions
    # stores nothing, and any process derives it from the pos)
    rooms.append(await alice.create_room(name="Ward 2"))
    await beat(first, second)
    lost = await client.sync(BODY)  # on the first process, kept there
    assert list(lost["rooms"]) == [rooms[2]]
    elsewhere = _on(second, alice)
    retry = await SlidingClient(elsewhere).request(BODY, pos=retried)
    assert retry.status_code == 200, retry.text
    assert list(retry.json()["rooms"]) == [rooms[2]]  # the same news again
    await alice.send_text(rooms[0], "three")
    rooms.append(await alice.create_room(name="Ward 3"))  # so that the next answer stores
    await beat(first, second)
    stale = await SlidingClient(alice).request(BODY, pos=lost["pos"])
    assert errcode(stale) == (400, "M_UNKNOWN_POS")
    client.pos = retry.json()["pos"]
    bodies = await _timeline_bodies(client)
    assert bodies[rooms[0]] == ["three"]
    assert set(bodies) == {rooms[0], rooms[3]}


async def test_a_pos_answered_without_writing_goes_on_in_the_other_process(
    two_servers: tuple[Homeserver, Homeserver],
) -> None:
    """MSC4186: `pos` names what the client has. A woken answer that stored nothing (only
    stream positions moved: connection.py) is continued by the other process, which never saw
    it: the room it sent is not sent again, the news since is sent once."""
    first, second = two_servers
    await first.create_user("alice")
    alice = await first.login("alice")
    rooms = [await alice.create_room(name=f"Ward {i}") for i in range(3)]
    await beat(first, second)
    client = SlidingClient(alice)
    await client.sync(BODY)
    await alice.send_text(rooms[0], "one")
    await beat(first, second)
    before = client.pos
    assert await _timeline_bodies(client) == {rooms[0]: ["one"]}
    assert before is not None
    assert client.pos is not None
    assert _seq(before) == _seq(client.pos)  # nothing stored
    await alice.send_text(rooms[1], "two")
    await beat(first, second)
    client.user = _on(second, alice)
    assert await _timeline_bodies(client) == {rooms[1]: ["two"]}
    assert client.held["all"][:2] == [rooms[1], rooms[0]]
    await alice.send_text(rooms[0], "three")
    await beat(first, second)
    client.user = alice
    assert await _timeline_bodies(client) == {rooms[0]: ["three"]}
