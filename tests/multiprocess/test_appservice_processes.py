"""An application service behind two `bastion serve` processes of one homeserver (PostgreSQL
+ Redis): its transactions are sent by one process at a time (the worker's lease), carry the
events sent through either process, each exactly once (a repeated transaction ID carries the
same events: the spec's retry); and when the process sending them is killed with `kill -9`,
the other takes over and nothing is lost (docs/subsystems/appservices.md).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from tests.api.appservice_server import FakeAppService, running_appservice
from tests.clients.server import set_toml_line
from tests.multiprocess.cluster import Cluster, ServerProcess

BOT = "@bridgebot:test.bastion"
AS_TOKEN = "mp-as-token"
MESSAGES = 40
WAIT_S = 60.0  # above the lease's retry (workers/leased.py RETRY_S) and the back-off


@pytest.fixture
def appservice() -> Iterator[FakeAppService]:
    yield from running_appservice()


def register(cluster: Cluster, url: str) -> None:
    registration = {
        "id": "bridge",
        "url": url,
        "as_token": AS_TOKEN,
        "hs_token": "mp-hs-token",
        "sender_localpart": "bridgebot",
        "namespaces": {"users": [{"exclusive": True, "regex": "@_bridge_.*"}]},
    }
    (cluster.directory / "bridge.yaml").write_text(yaml.safe_dump(registration), "utf-8")
    cluster.config_text = set_toml_line(
        cluster.config_text, "appservices", "registration_files", json.dumps(["bridge.yaml"])
    )


def without_age(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events with `unsigned.age` left out: a retry says how old each event is when it is
    sent again (as Synapse's retries do), everything else is the first attempt's."""
    kept = []
    for event in events:
        assert isinstance(event["unsigned"]["age"], int), event
        unsigned = {k: v for k, v in event["unsigned"].items() if k != "age"}
        kept.append({**event, "unsigned": unsigned})
    return kept


def delivered(appservice: FakeAppService) -> dict[int, list[dict[str, Any]]]:
    """Transaction ID -> its events; a repeated ID must carry the same events."""
    by_id: dict[int, list[dict[str, Any]]] = {}
    for txn in appservice.transactions():
        txn_id = int(txn.path.rsplit("/", 1)[1])
        events = without_age(txn.body["events"])
        assert by_id.setdefault(txn_id, events) == events, f"transaction {txn_id} changed"
    return by_id


def bodies(appservice: FakeAppService) -> list[str]:
    return [
        e["content"]["body"]
        for events in delivered(appservice).values()
        for e in events
        if e["type"] == "m.room.message"
    ]


async def until_delivered(cluster: Cluster, appservice: FakeAppService, wanted: set[str]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not wanted <= set(bodies(appservice)):
        if loop.time() > deadline:
            missing = sorted(wanted - set(bodies(appservice)))
            raise AssertionError(f"not delivered: {missing}")
        await asyncio.sleep(0.1)


WORKER_STATE = re.compile(r"worker application services: (runs here now|runs elsewhere)")


def runs_it(process: ServerProcess) -> bool:
    """Does the process's log say, last, that it runs the application services worker?"""
    said = WORKER_STATE.findall(process.log_text())
    return bool(said) and said[-1] == "runs here now"


def holder(a: ServerProcess, b: ServerProcess) -> ServerProcess:
    """The process that runs the application services worker (exactly one of them)."""
    running = [p for p in (a, b) if runs_it(p)]
    assert len(running) == 1, [p.name for p in running]
    return running[0]


async def test_one_process_sends_every_event_once_and_the_other_takes_over(
    cluster: Cluster, appservice: FakeAppService
) -> None:
    register(cluster, appservice.url)
    a, b = cluster.process("a"), cluster.process("b")
    a.start()
    b.start()  # both create the bridge's bot at start: one does, the other finds it
    cluster.create_user("alice")
    alice_a = await cluster.login(a, "@alice:test.bastion")
    alice_b = alice_a.on(b)
    cluster.clients.append(alice_b)
    room_id = await alice_a.create_room()
    invited = await alice_a.http.post(f"/rooms/{room_id}/invite", json={"user_id": BOT})
    assert invited.status_code == 200, invited.text
    async with httpx.AsyncClient(base_url=b.base_url, trust_env=False) as bridge:
        joined = await bridge.post(  # the bridge's bot joins, through the other process
            f"/_matrix/client/v3/join/{room_id}", json={},
            headers={"Authorization": f"Bearer {AS_TOKEN}"},
        )  # fmt: skip
    assert joined.status_code == 200, joined.text

    first = [f"m{i}" for i in range(MESSAGES)]
    for i, body in enumerate(first):  # through both processes, interleaved
        await (alice_a if i % 2 else alice_b).send_text(room_id, body)
    await until_delivered(cluster, appservice, set(first))
    assert sorted(bodies(appservice)) == sorted(first)  # each once

    cluster.allow_tracebacks = True  # the killed process may leave a half-written log line
    sender = holder(a, b)
    survivor = b if sender is a else a
    sender.kill()
    client = alice_b if survivor is b else alice_a
    then = [f"after-{i}" for i in range(MESSAGES // 4)]
    for body in then:
        await client.send_text(room_id, body)
    await until_delivered(cluster, appservice, set(first) | set(then))
    assert sorted(bodies(appservice)) == sorted(first + then)
    assert runs_it(survivor)  # it took the worker over
