"""Two `bastion serve` processes of one homeserver on PostgreSQL + Redis, clients on different
ones: what one process does reaches syncs parked on the other.

Issue #15: "a send on A wakes a sync on B; typing and receipts cross; a user offboarded on A
gets 401 on a sync parked on B; two processes sending 1,000 messages into one room concurrently
give every syncing client every event exactly once, in one order, with no gap (checked by a
client on each process)." Spec (client-server-api, GET /sync `timeout`): "The maximum time to
wait, in milliseconds, before returning this request. If no events (or other data) become
available before this time elapses, the server will return a response with empty fields."

No wall-clock assertion: a sync parked with a 30 s timeout that answers at all, carrying the
event, was woken by it (the HTTP client's own timeout is above 30 s). A parked sync is first
shown to be waiting (`asyncio.wait` with SETTLE_S finds it not done) before the other process
acts.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.multiprocess.cluster import (
    LONG_POLL_MS,
    Client,
    Cluster,
    ServerProcess,
    ephemeral_types,
    timeline_events,
)

SETTLE_S = 0.5
PARK_ATTEMPTS = 5
MESSAGES_PER_PROCESS = 500
CONCURRENCY = 8


async def two_processes(cluster: Cluster) -> tuple[ServerProcess, ServerProcess]:
    a, b = cluster.process("a"), cluster.process("b")
    a.start()
    b.start()
    return a, b


async def parked(client: Client, since: str) -> asyncio.Task[httpx.Response]:
    """A /sync from `since` with a long timeout, shown to be waiting.

    A sync may first answer with what was already on its way (the client's own join becoming
    readable on the other process, presence): it is then parked again from its `next_batch`,
    a few times at most."""
    answered: list[str] = []
    for _ in range(PARK_ATTEMPTS):
        task = asyncio.create_task(client.sync(since, LONG_POLL_MS))
        done, _ = await asyncio.wait({task}, timeout=SETTLE_S)
        if not done:
            return task
        resp = task.result()
        assert resp.status_code == 200, resp.text
        answered.append(resp.text)
        since = resp.json()["next_batch"]
    raise AssertionError(f"the sync never parked; it answered: {answered}")


async def room_with(alice: Client, bob: Client) -> str:
    room_id = await alice.create_room()
    await bob.join(room_id)
    return room_id


async def test_send_on_a_wakes_a_sync_parked_on_b(cluster: Cluster) -> None:
    a, b = await two_processes(cluster)
    alice = await cluster.login(a, cluster.create_user("alice"))
    bob = await cluster.login(b, cluster.create_user("bob"))
    room_id = await room_with(alice, bob)
    since = (await bob.sync_ok())["next_batch"]

    waiting = await parked(bob, since)
    event_id = await alice.send_text(room_id, "from A")
    resp = await waiting
    assert resp.status_code == 200, resp.text
    assert event_id in [e["event_id"] for e in timeline_events(resp.json(), room_id)]


async def test_typing_and_receipts_cross(cluster: Cluster) -> None:
    """Spec: "m.typing ... Informs the client of the list of users currently typing"; "m.receipt
    ... Informs the client of new receipts"; both arrive in a joined room's `ephemeral`."""
    a, b = await two_processes(cluster)
    alice = await cluster.login(a, cluster.create_user("alice"))
    bob = await cluster.login(b, cluster.create_user("bob"))
    room_id = await room_with(alice, bob)
    event_id = await bob.send_text(room_id, "read me")
    since = (await bob.sync_ok())["next_batch"]

    waiting = await parked(bob, since)
    resp = await alice.http.put(
        f"/rooms/{room_id}/typing/{alice.user_id}", json={"typing": True, "timeout": 30_000}
    )
    assert resp.status_code == 200, resp.text
    body = (await waiting).json()
    assert "m.typing" in ephemeral_types(body, room_id)
    typing = next(
        e for e in body["rooms"]["join"][room_id]["ephemeral"]["events"] if e["type"] == "m.typing"
    )
    assert typing["content"]["user_ids"] == [alice.user_id]

    waiting = await parked(bob, body["next_batch"])
    resp = await alice.http.post(f"/rooms/{room_id}/receipt/m.read/{event_id}", json={})
    assert resp.status_code == 200, resp.text
    body = (await waiting).json()
    receipts = [
        e for e in body["rooms"]["join"][room_id]["ephemeral"]["events"] if e["type"] == "m.receipt"
    ]
    assert receipts, body
    assert alice.user_id in receipts[0]["content"][event_id]["m.read"]


async def test_offboarded_on_a_gets_401_on_a_sync_parked_on_b(cluster: Cluster) -> None:
    """Spec (POST /account/deactivate and 401 M_UNKNOWN_TOKEN): "The access token provided is
    not recognised" once the account is deactivated; a sync already waiting on another process
    fails with it too (issue #15: revocation reaches every process)."""
    a, b = await two_processes(cluster)
    admin = await cluster.login(a, cluster.create_user("admin", admin=True))
    carol = await cluster.login(b, cluster.create_user("carol"))
    since = (await carol.sync_ok())["next_batch"]

    waiting = await parked(carol, since)
    async with httpx.AsyncClient(base_url=a.base_url, timeout=60, trust_env=False) as http:
        resp = await http.post(
            f"/_synapse/admin/v1/deactivate/{carol.user_id}",
            headers={"Authorization": f"Bearer {admin.token}"},
            json={"erase": False},
        )
    assert resp.status_code == 200, resp.text
    resp = await waiting
    assert resp.status_code == 401, resp.text
    assert resp.json()["errcode"] == "M_UNKNOWN_TOKEN"


async def test_shadow_banned_on_a_is_dropped_on_b_at_its_next_request(cluster: Cluster) -> None:
    """Synapse's user admin API: a shadow-banned user "receives successful responses to their
    client-server API requests, but the events are not propagated into rooms". The ban is read
    with the access token, so a process that served the account a moment before applies it to
    the very next request (no process keeps an older answer)."""
    a, b = await two_processes(cluster)
    admin = await cluster.login(a, cluster.create_user("admin", admin=True))
    carol = await cluster.login(b, cluster.create_user("carol"))
    room_id = await room_with(carol, admin)
    heard = await carol.send_text(room_id, "before")  # B has served carol's token
    async with httpx.AsyncClient(base_url=a.base_url, timeout=60, trust_env=False) as http:
        resp = await http.post(
            f"/_synapse/admin/v1/users/{carol.user_id}/shadow_ban",
            headers={"Authorization": f"Bearer {admin.token}"},
            json={},
        )
    assert (resp.status_code, resp.json()) == (200, {})
    dropped = await carol.send_text(room_id, "after")  # answered on B as if it worked
    assert (await admin.http.get(f"/rooms/{room_id}/event/{heard}")).status_code == 200
    missing = await admin.http.get(f"/rooms/{room_id}/event/{dropped}")
    assert (missing.status_code, missing.json()["errcode"]) == (404, "M_NOT_FOUND")


async def test_a_syncs_own_presence_change_is_in_its_answer_not_the_next(cluster: Cluster) -> None:
    """Spec (GET /sync `set_presence`): "Controls whether the client is automatically marked as
    online by polling this API"; `next_batch`: "the batch token to supply in the since param of
    the next /sync request". The sync that marks its user online answers past that change, so a
    long-poll from its `next_batch` is not answered with it again (with two processes the
    change's position is readable only once the other process's promise has passed it)."""
    _, b = await two_processes(cluster)
    carol = await cluster.login(b, cluster.create_user("carol"))
    first = await carol.sync_ok()
    own = [e for e in first["presence"]["events"] if e["sender"] == carol.user_id]
    assert [e["content"]["presence"] for e in own] == ["online"], first

    again = await carol.sync_ok(first["next_batch"], 2_000)
    assert again["presence"]["events"] == [], again
    assert again["next_batch"] == first["next_batch"], again


async def collect(client: Client, room_id: str, since: str, expected: int) -> list[str]:
    """Incremental syncs from `since` until `expected` messages arrived; their event IDs in
    the order received. A `limited` timeline (a gap) fails the test."""
    seen: list[str] = []
    while len(seen) < expected:
        body = await client.sync_ok(since, LONG_POLL_MS)
        since = body["next_batch"]
        room: dict[str, Any] = body.get("rooms", {}).get("join", {}).get(room_id, {})
        timeline = room.get("timeline", {})
        assert not timeline.get("limited"), "a gap in the timeline"
        seen += [e["event_id"] for e in timeline.get("events", []) if e["type"] == "m.room.message"]
    return seen


async def send_many(client: Client, room_id: str, prefix: str, count: int) -> set[str]:
    """`count` messages with at most CONCURRENCY in flight; the acknowledged event IDs."""
    numbers = iter(range(count))
    sent: set[str] = set()

    async def sender() -> None:
        for n in numbers:
            sent.add(await client.send_text(room_id, f"{prefix} {n}", txn_id=f"{prefix}-{n}"))

    await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
    return sent


async def test_concurrent_sends_reach_every_client_once_in_one_order(cluster: Cluster) -> None:
    a, b = await two_processes(cluster)
    alice = await cluster.login(a, cluster.create_user("alice"))
    bob = await cluster.login(b, cluster.create_user("bob"))
    room_id = await room_with(alice, bob)
    carol_a = await cluster.login(a, cluster.create_user("carol"))
    dave_b = await cluster.login(b, cluster.create_user("dave"))
    for watcher in (carol_a, dave_b):
        await watcher.join(room_id)
    total = 2 * MESSAGES_PER_PROCESS
    on_a = asyncio.create_task(
        collect(carol_a, room_id, (await carol_a.sync_ok())["next_batch"], total)
    )
    on_b = asyncio.create_task(
        collect(dave_b, room_id, (await dave_b.sync_ok())["next_batch"], total)
    )

    sent = await asyncio.gather(
        send_many(alice, room_id, "from A", MESSAGES_PER_PROCESS),
        send_many(bob, room_id, "from B", MESSAGES_PER_PROCESS),
    )
    acknowledged = sent[0] | sent[1]
    assert len(acknowledged) == total
    seen_a, seen_b = await on_a, await on_b
    assert len(seen_a) == len(set(seen_a)) == total  # exactly once
    assert set(seen_a) == acknowledged  # nothing lost
    assert seen_a == seen_b  # one order, whichever process a client syncs from
