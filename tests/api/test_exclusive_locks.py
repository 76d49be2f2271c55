"""`Database.exclusive` on PostgreSQL (store/postgres.py): one holder of a name at a time among
every process, each holder on a connection of its own, and at most EXCLUSIVE_CONNECTIONS such
connections per process ("a burst of offboardings must not take every connection the server
allows"). On SQLite one process serves the file and there is nothing to take."""

from __future__ import annotations

import asyncio

import pytest

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
