"""Offboarding through a real client (issue #12, "What it must show"): "a matrix-nio user syncing
in three rooms (sole admin of one) is deactivated; the waiting sync fails with 401, the user is
gone from all three rooms, the room that lost its admin has the successor at power 100, and
nothing new is readable with any old token. The same with the workflow interrupted and
resumed."

The leaver is offboarded with Synapse's `POST /_synapse/admin/v1/deactivate/{userId}`; the
successor is the policy's fallback admin (not a member: invited and given power).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from nio import AsyncClient, JoinResponse, RoomCreateResponse, RoomGetStateEventResponse, SyncError

from bastion.app import Runtime
from bastion.config import load_config
from bastion.services.principal import Operator
from tests.clients.nio_fixtures import NioFactory, log_in, nio_request, sync
from tests.clients.server import BastionServer

LONG_POLL_MS = 120_000  # far beyond nio's request timeout: only an early answer can pass


class Interrupted(Exception):
    """The 'process died' after the first room."""


async def _client(
    nio_client: NioFactory, server: BastionServer, name: str, **kw: Any
) -> AsyncClient:
    server.create_user(name, **kw)
    client = nio_client(server.user_id(name))
    await log_in(client, f"{name}'s phone")
    return client


async def _create(client: AsyncClient, version: str) -> str:
    response = await client.room_create(room_version=version)
    assert isinstance(response, RoomCreateResponse), response
    room_id: str = response.room_id
    return room_id


async def _rooms(nio_client: NioFactory, server: BastionServer, version: str) -> dict[str, Any]:
    """bob, sole admin of `own`, member of carol's `second` and `third`; dave is the fallback."""
    root = await _client(nio_client, server, "root", admin=True)
    bob = await _client(nio_client, server, "bob")
    carol = await _client(nio_client, server, "carol")
    dave = await _client(nio_client, server, "dave")
    status, body = await nio_request(
        root, "PUT", "/_bastion/admin/v1/policy", {"rooms": {"fallback_admin": dave.user_id}}
    )
    assert status == 200, body
    own = await _create(bob, version)
    second, third = await _create(carol, version), await _create(carol, version)
    for room_id in (second, third):
        assert (await carol.room_invite(room_id, bob.user_id)).transport_response.status == 200
        assert isinstance(await bob.join(room_id), JoinResponse)
    await sync(bob, timeout=0)
    await sync(carol, timeout=0)
    return {"root": root, "bob": bob, "carol": carol, "dave": dave, "rooms": [own, second, third]}


async def _drain(client: AsyncClient) -> None:
    """Sync until nothing is new (the logins' presence changes), so the next one parks."""
    for _ in range(5):
        response = await sync(client, timeout=0)
        if not response.presence_events and not response.rooms.join:
            return
    raise AssertionError("the sync never went quiet")


async def _check_outcome(s: dict[str, Any], old_tokens: list[str]) -> None:
    bob, carol, dave = s["bob"], s["carol"], s["dave"]
    own, second, third = s["rooms"]
    # the room that lost its admin has the successor at power 100
    assert isinstance(await dave.join(own), JoinResponse)
    power = await dave.room_get_state_event(own, "m.room.power_levels")
    assert isinstance(power, RoomGetStateEventResponse), power
    assert power.content["users"][dave.user_id] == 100
    # bob is gone from all three rooms
    for viewer, room_id in ((dave, own), (carol, second), (carol, third)):
        member = await viewer.room_get_state_event(room_id, "m.room.member", bob.user_id)
        assert isinstance(member, RoomGetStateEventResponse), member
        assert member.content["membership"] == "leave"
    # nothing new is readable with any old token
    await carol.room_send(second, "m.room.message", {"msgtype": "m.text", "body": "after"})
    for token in old_tokens:
        bob.access_token = token
        status, body = await nio_request(bob, "GET", "/_matrix/client/v3/sync?timeout=0")
        assert (status, body.get("errcode")) == (401, "M_UNKNOWN_TOKEN")
        status, body = await nio_request(
            bob, "GET", f"/_matrix/client/v3/rooms/{second}/messages?dir=b&limit=5"
        )
        assert (status, body.get("errcode")) == (401, "M_UNKNOWN_TOKEN")


@pytest.mark.parametrize("version", ["11", "12"])
async def test_a_syncing_leaver_is_offboarded(
    bastion_server: BastionServer, nio_client: NioFactory, version: str
) -> None:
    s = await _rooms(nio_client, bastion_server, version)
    bob, root = s["bob"], s["root"]
    laptop = nio_client(bob.user_id)
    await log_in(laptop, "bob's laptop")
    await _drain(bob)
    waiting = asyncio.ensure_future(bob.sync(timeout=LONG_POLL_MS))
    await asyncio.sleep(0.2)  # let the long poll park on the server before the deactivation
    status, body = await nio_request(
        root, "POST", f"/_synapse/admin/v1/deactivate/{bob.user_id}", {"erase": False}
    )
    assert (status, body) == (200, {"id_server_unbind_result": "success"})
    failed = await waiting
    assert isinstance(failed, SyncError), failed
    assert failed.status_code == "M_UNKNOWN_TOKEN"
    await _check_outcome(s, [bob.access_token, laptop.access_token])


async def test_an_interrupted_offboarding_is_resumed_at_the_next_start(
    bastion_server: BastionServer, nio_client: NioFactory
) -> None:
    s = await _rooms(nio_client, bastion_server, "12")
    bob = s["bob"]
    token = bob.access_token
    bastion_server.stop()
    # The workflow runs in this process and "dies" after its first room.
    runtime = await Runtime.open(load_config(bastion_server.config_path))
    try:
        offboarding = runtime.services.offboarding

        async def die(step: str, room_id: str) -> None:
            if step == "leave":
                raise Interrupted

        offboarding.checkpoint = die
        with pytest.raises(Interrupted):
            await offboarding.offboard(Operator("test"), bob.user_id)
        job_id = await runtime.db.fetch_val("SELECT job_id FROM offboarding_jobs")
    finally:
        await runtime.close()
    bastion_server.start()  # its resumer completes the job at start
    job = await _wait_for_done(s["root"], job_id)
    assert sorted(job["rooms_left"]) == sorted(s["rooms"])
    await _check_outcome(s, [token])


async def _wait_for_done(root: AsyncClient, job_id: str) -> dict[str, Any]:
    """The resumed job's report once done (the server runs it in the background at start)."""
    body: dict[str, Any] = {}
    for _ in range(500):
        status, body = await nio_request(root, "GET", f"/_bastion/admin/v1/offboarding/{job_id}")
        assert status == 200, body
        if body["status"] == "done":
            return body
        await asyncio.sleep(0.02)  # a bounded poll of another process, not a fixed wait
    raise AssertionError(f"job {job_id} not done: {body}")
