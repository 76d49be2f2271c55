"""A revoked session's parked /sync answers 401 at once, not 200 when its timeout ends.

Spec, POST /logout: "Invalidates an existing access token, so that it can no longer be used
for authorization." POST /logout/all: "Invalidates all access tokens for a user, so that they
can no longer be used for authorization." A long-poll already waiting is such a use: every
revocation publishes `SessionsRevoked` (services/e2ee/device_lists.py, confirmed by the bus
before the revoking request returns), which wakes the user's syncs on every process; each
re-checks its device. The same across processes: tests/integration/test_redis_processes.py.
"""

from __future__ import annotations

import asyncio

import pytest

from bastion.errors import MatrixError
from bastion.services.sync.request import parse_sync_request
from tests.conftest import OPERATOR, Homeserver, errcode


async def test_logout_ends_the_sessions_parked_sync_with_401(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    token = (await alice.sync())["next_batch"]
    parked = asyncio.create_task(alice.get("/sync", params={"since": token, "timeout": "30000"}))
    await hs.wait_for_waiting_syncs(1)
    resp = await alice.post("/logout", json={})
    assert resp.status_code == 200
    assert errcode(await asyncio.wait_for(parked, 5)) == (401, "M_UNKNOWN_TOKEN")


@pytest.mark.parametrize("how", ["lock", "PUT v2 locked"])
async def test_an_admins_lock_ends_the_accounts_parked_sync_before_anything_reaches_it(
    hs: Homeserver, how: str
) -> None:
    """A lock keeps the sessions but refuses them (401 M_USER_LOCKED on the next request): a
    sync parked before the lock must not stay open to carry what is sent after it."""
    root = await hs.register_user("root", admin=True)
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    room = await bob.create_room(invite=[alice.user_id])
    await alice.join(room)
    token = (await alice.sync())["next_batch"]
    parked = asyncio.create_task(alice.get("/sync", params={"since": token, "timeout": "30000"}))
    await hs.wait_for_waiting_syncs(1)
    if how == "lock":
        await hs.runtime.services.admin_users.set_locked(OPERATOR, alice.user_id, True)
    else:
        path = f"/_synapse/admin/v2/users/{alice.user_id}"
        assert (await root.put(path, json={"locked": True})).status_code == 200
    assert errcode(await asyncio.wait_for(parked, 10)) == (401, "M_USER_LOCKED")
    await bob.send_text(room, "after the lock")
    assert errcode(await alice.get("/sync", params={"since": token})) == (401, "M_USER_LOCKED")


async def test_a_new_login_on_the_same_device_ends_the_old_tokens_parked_sync(
    hs: Homeserver,
) -> None:
    """POST /login, device_id: "If this does not correspond to a known client device, a new
    device will be created" - and a known one gets a new token: the old one "can no longer be
    used for authorization", so its parked sync answers 401 at once."""
    alice = await hs.register_user("alice")
    token = (await alice.sync())["next_batch"]
    parked = asyncio.create_task(alice.get("/sync", params={"since": token, "timeout": "30000"}))
    await hs.wait_for_waiting_syncs(1)
    again = await hs.login("alice", device_id=alice.device_id)
    assert again.device_id == alice.device_id
    assert errcode(await asyncio.wait_for(parked, 5)) == (401, "M_UNKNOWN_TOKEN")
    assert (await again.get("/account/whoami")).status_code == 200


async def test_logout_all_ends_every_parked_sync_of_the_user_with_401(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    laptop = await hs.login("alice")
    token = (await alice.sync())["next_batch"]
    parked = [
        asyncio.create_task(device.get("/sync", params={"since": token, "timeout": "30000"}))
        for device in (alice, laptop)
    ]
    await hs.wait_for_waiting_syncs(1)  # one user, two parked syncs
    resp = await laptop.post("/logout/all", json={})
    assert resp.status_code == 200
    for sync in parked:
        assert errcode(await asyncio.wait_for(sync, 5)) == (401, "M_UNKNOWN_TOKEN")


async def test_a_logout_between_the_token_check_and_parking_still_ends_the_sync(
    hs: Homeserver,
) -> None:
    """The poll skips re-reading its session before it parks only if no revocation was heard
    since it read the revocation mark, before its token check (services/long_poll.py): a
    logout that lands after the token check, before the poll parks, still ends it with 401."""
    alice = await hs.register_user("alice")
    laptop = await hs.login("alice")
    services = hs.runtime.services
    mark = services.sync.revocations_mark()  # as the endpoint reads it, before the token check
    requester = await services.auth.authenticate(alice.token, None)
    assert (await alice.post("/logout", json={})).status_code == 200  # after the token check
    token = (await laptop.sync())["next_batch"]  # so the poll finds nothing new, and parks
    request = await parse_sync_request(
        requester, {"since": token, "timeout": "30000"}, services.account_data
    )
    with pytest.raises(MatrixError) as ended:
        await asyncio.wait_for(services.sync.sync(requester, request, authenticated_at=mark), 5)
    assert (ended.value.status, ended.value.errcode) == (401, "M_UNKNOWN_TOKEN")
