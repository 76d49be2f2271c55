"""The purge worker runs a pass every `retention.purge_interval_s`, on the injected clock.

Issue #13: "The purge worker (bastion/workers/, every `purge_interval_s`) deletes expired
MESSAGE events"; workers wait on the clock, so a FakeClock drives them (docs/subsystems/
workers.md).
"""

from __future__ import annotations

import asyncio

from bastion.workers.base import Supervisor
from bastion.workers.retention_purge import RetentionPurgeWorker
from tests.api.compliance.retention_helpers import DAY_MS, DAY_S, event_ids_in_db, set_retention
from tests.conftest import Homeserver


async def _until_parked(hs: Homeserver, worker: RetentionPurgeWorker, passes: int) -> None:
    """Until the worker finished `passes` passes and waits on the clock (bounded yields)."""
    for _ in range(10_000):
        if worker.passes >= passes and hs.clock.sleepers:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"worker made {worker.passes} passes, not {passes}")


async def test_the_worker_purges_once_per_interval(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room = await alice.create_room()
    messages = [await alice.send_text(room, f"m{i}") for i in range(3)]
    await set_retention(root, default_max_lifetime_ms=DAY_MS, purge_interval_s=600)
    worker = RetentionPurgeWorker(hs.runtime.services.retention_purge, hs.clock)
    supervisor = Supervisor(worker, hs.clock)
    supervisor.start()
    try:
        await _until_parked(hs, worker, 1)  # the pass at start: nothing expired yet
        assert set(messages) <= await event_ids_in_db(hs, room)
        hs.clock.advance(2 * DAY_S)  # past the lifetime, and past the interval
        await _until_parked(hs, worker, 2)
        assert set(messages) & await event_ids_in_db(hs, room) == {messages[-1]}  # the latest
    finally:
        await supervisor.stop()
