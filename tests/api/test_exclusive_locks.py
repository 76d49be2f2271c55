"""`Database.exclusive` on PostgreSQL (store/postgres.py): one holder of a name at a time among
every process, each holder on a connection of its own, and at most EXCLUSIVE_CONNECTIONS such
connections per process ("a burst of offboardings must not take every connection the server
allows"). On SQLite one process serves the file and there is nothing to take."""

from __future__ import annotations

import asyncio
import logging
import os

import pytest

from bastion.store import postgres
from bastion.store.postgres import EXCLUSIVE_CONNECTIONS
from tests.conftest import Homeserver
from tests.exclusive_locks import waiting_for
from tests.redis_support import eventually

SETTLE_S = 0.5  # how long a holder that should wait is watched not entering


def _postgres_only(hs: Homeserver) -> None:
    if hs.runtime.db.dialect != "postgres":
        pytest.skip("one process serves a SQLite file: nothing to take")


async def test_a_name_has_one_holder_at_a_time(hs: Homeserver) -> None:
    _postgres_only(hs)
    db, schema = hs.runtime.db, hs.runtime.config.database.schema
    entered: list[str] = []

    async def hold(who: str, release: asyncio.Event) -> None:
        async with db.exclusive("job"):
            entered.append(who)
            await release.wait()

    first_done, second_done = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(hold("first", first_done))
    await eventually(lambda: entered == ["first"])
    second = asyncio.create_task(hold("second", second_done))
    assert await waiting_for(db, schema, "job") == 1  # the second waits in PostgreSQL
    assert entered == ["first"]
    first_done.set()
    await first
    await eventually(lambda: entered == ["first", "second"])
    second_done.set()
    await second


async def test_a_process_holds_at_most_so_many_connections_for_them(hs: Homeserver) -> None:
    _postgres_only(hs)
    db = hs.runtime.db
    entered: set[int] = set()
    release = asyncio.Event()

    async def hold(n: int) -> None:
        async with db.exclusive(f"job {n}"):  # distinct names: none waits for another
            entered.add(n)
            await release.wait()

    holders = [asyncio.create_task(hold(n)) for n in range(EXCLUSIVE_CONNECTIONS)]
    await eventually(lambda: len(entered) == EXCLUSIVE_CONNECTIONS)
    extra = asyncio.create_task(hold(EXCLUSIVE_CONNECTIONS))
    await asyncio.wait({extra}, timeout=SETTLE_S)  # time to connect and enter, were it free to
    assert EXCLUSIVE_CONNECTIONS not in entered  # it waits for a slot, with no connection yet
    release.set()
    await asyncio.gather(*holders, extra)
    assert entered == set(range(EXCLUSIVE_CONNECTIONS + 1))


async def test_a_wait_is_logged_with_its_holder_until_it_ends(
    hs: Homeserver, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A holder that hangs holds up the waiter without bound (a process starting after an
    upgrade waits for the start-up backfills): the waiter's log says so, again and again,
    and names the holder's session, so an operator knows which process to look at."""
    _postgres_only(hs)
    monkeypatch.setattr(postgres, "WAIT_LOG_EVERY_S", 0.05)
    db, schema = hs.runtime.db, hs.runtime.config.database.schema
    held, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with db.exclusive("start-up backfills"):
            held.set()
            await release.wait()

    first = asyncio.create_task(holder())
    await held.wait()
    caplog.set_level(logging.INFO, logger=postgres.__name__)

    async def waiter() -> None:
        async with db.exclusive("start-up backfills"):
            pass

    second = asyncio.create_task(waiter())
    assert await waiting_for(db, schema, "start-up backfills") == 1

    def waits_logged() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.getMessage().startswith("waiting")]

    await eventually(lambda: len(waits_logged()) >= 2)  # when it starts, then every period
    assert not second.done()
    line = waits_logged()[0]
    assert "'start-up backfills'" in line
    # the holder's session, by the name this process's lock connections give themselves
    assert postgres.lock_holder_name() in line
    assert postgres.lock_holder_name().startswith(f"bastion exclusive: pid {os.getpid()} on ")
    release.set()
    await asyncio.gather(first, second)
    assert any(r.getMessage().startswith("took the lock 'start-up backfills'")
               for r in caplog.records)  # fmt: skip


async def test_a_free_lock_is_taken_without_a_word(
    hs: Homeserver, caplog: pytest.LogCaptureFixture
) -> None:
    _postgres_only(hs)
    caplog.set_level(logging.INFO, logger=postgres.__name__)
    async with hs.runtime.db.exclusive("job"):
        pass
    assert not [r for r in caplog.records if r.name == postgres.__name__]
