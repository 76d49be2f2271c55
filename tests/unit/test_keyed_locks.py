"""services/keyed_locks.py: one lock per key while it is in use, none kept after."""

from __future__ import annotations

import asyncio

from bastion.services.keyed_locks import KeyedLocks


async def test_one_key_is_serialised_and_other_keys_are_not() -> None:
    locks = KeyedLocks()
    trace: list[str] = []
    b_started = asyncio.Event()

    async def work(key: str, name: str) -> None:
        async with locks.lock(key):
            trace.append(f"{name} in")
            if name == "a1":
                await b_started.wait()  # "b" (another key) runs while "a1" holds its lock
            await asyncio.sleep(0)
            trace.append(f"{name} out")

    async def other_key() -> None:
        async with locks.lock("b"):
            b_started.set()
            trace.append("b")

    await asyncio.gather(work("a", "a1"), work("a", "a2"), other_key())
    # a2 entered only after a1 left; b did not wait for a1.
    assert trace.index("a1 out") < trace.index("a2 in")
    assert trace.index("b") < trace.index("a1 out")
    assert len(locks) == 0  # every lock released: none kept


async def test_waiters_share_the_lock_and_an_unused_one_is_not_kept() -> None:
    locks = KeyedLocks()
    held = locks.lock("room")
    async with held:
        waiter = asyncio.ensure_future(_take(locks, "room"))
        await asyncio.sleep(0)
        assert not waiter.done()  # the same lock, still held
        assert len(locks) == 1
    await waiter
    del held
    assert len(locks) == 0  # nothing references it now: no lock kept per key ever seen


async def _take(locks: KeyedLocks, key: str) -> None:
    async with locks.lock(key):
        pass
