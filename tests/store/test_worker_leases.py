"""Worker leases on PostgreSQL (store/sql/leases.py): session advisory locks on a connection
of their own. Two `PostgresLeases` stand for two processes on one database.

Issue #15: background jobs "run exactly once across processes (PostgreSQL advisory locks ...),
and survive the death of the process running them": a lease is held by one process at a time,
and a dead process's lease (its connection gone) is free at once for another.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import pytest

from bastion.store.sql.leases import PostgresLeases, lease_key
from tests.conftest import pg_dsn


@pytest.fixture
def dsn() -> str:
    found = pg_dsn()
    if found is None:
        pytest.skip("BASTION_TEST_PG_DSN is not set (run under scripts/with-postgres)")
    return found


async def until_session_ended(dsn: str, pid: int) -> None:
    """Wait (bounded) until the server has ended session `pid`."""
    conn = await asyncpg.connect(dsn)
    deadline = time.monotonic() + 10
    try:
        while await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
            assert time.monotonic() < deadline, "the server kept the dead session"
            await asyncio.sleep(0.01)  # the server's own pace: nothing of ours to wait on
    finally:
        await conn.close()


async def test_one_holder_at_a_time_and_a_dead_holders_lease_is_free(dsn: str) -> None:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    a, b = PostgresLeases(dsn, schema=schema), PostgresLeases(dsn, schema=schema)
    try:
        assert await a.hold("presence expiry")
        assert await a.hold("presence expiry")  # kept
        assert not await b.hold("presence expiry")
        assert await b.hold("push delivery")  # leases are per name
        await a.release("presence expiry")
        assert await b.hold("presence expiry")
        assert not await a.hold("presence expiry")

        # b's process dies: its connection drops without a goodbye, and the server ends the
        # session (and frees its locks) as soon as it notices.
        assert b._conn is not None
        session = b._conn.get_server_pid()
        b._conn.terminate()
        await until_session_ended(dsn, session)
        assert await a.hold("presence expiry")
        assert await a.hold("push delivery")
        assert not await b.hold("push delivery")  # b noticed, reconnected, and a holds it now
    finally:
        await a.close()
        await b.close()


async def test_leases_of_different_schemas_never_contend(dsn: str) -> None:
    a = PostgresLeases(dsn, schema=f"t_{uuid.uuid4().hex[:12]}")
    b = PostgresLeases(dsn, schema=f"t_{uuid.uuid4().hex[:12]}")
    try:
        assert await a.hold("retention purge")
        assert await b.hold("retention purge")
    finally:
        await a.close()
        await b.close()


async def test_close_gives_every_lease_back(dsn: str) -> None:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    a, b = PostgresLeases(dsn, schema=schema), PostgresLeases(dsn, schema=schema)
    try:
        assert await a.hold("compliance exports")
        await a.close()
        assert await b.hold("compliance exports")
    finally:
        await b.close()


def test_lease_keys_are_signed_32_bit_integers() -> None:
    keys = {lease_key(schema, name) for schema in ("", "s1") for name in ("a", "b", "c")}
    assert len(keys) == 6
    assert all(-(2**31) <= key < 2**31 for key in keys)


async def test_a_lease_lost_with_its_session_is_given_up_quietly(dsn: str) -> None:
    """The server ends the lease session under a live process (a restart, an admin's
    pg_terminate_backend): releasing is then a no-op, and the next `hold` starts afresh."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    a = PostgresLeases(dsn, schema=schema)
    try:
        assert await a.hold("presence expiry")
        assert a._conn is not None
        session = a._conn.get_server_pid()
        admin = await asyncpg.connect(dsn)
        try:
            await admin.fetchval("SELECT pg_terminate_backend($1)", session)
        finally:
            await admin.close()
        await until_session_ended(dsn, session)
        await a.release("presence expiry")  # the lock went with the session: nothing to do
        assert await a.hold("presence expiry")  # a new session takes it again
        assert await a.hold("presence expiry")
    finally:
        await a.close()
