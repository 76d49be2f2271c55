"""`bastion serve` on SQLite or PostgreSQL for the sliding-sync client tests, and seeding.

`ss_home` is `bastion_home` (tests/clients/server.py) on the database of the `db_kind` parameter
(tests/conftest.py): SQLite in the data directory, or a fresh schema on the server named by
BASTION_TEST_PG_DSN (the postgres variant is skipped without it), written into bastion.toml.

`seed` opens the same config in-process (`Runtime.open`: the real services and database) before
the server starts, so a test can make 1,000 real rooms with real events through the services
(the event pipeline every send uses) in seconds instead of 1,000 HTTP round trips; the server
then serves what is in the database, as after any restart.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest

from bastion.app import Runtime
from bastion.config import load_config
from tests.clients.server import PASSWORD, BastionServer, set_toml_line
from tests.conftest import pg_dsn

T = TypeVar("T")


@pytest.fixture
async def ss_home(db_kind: str, tmp_path: Path) -> AsyncIterator[BastionServer]:
    """A data directory made by `bastion init` on the test's database; not started.

    Teardown stops the server, drops the PostgreSQL schema, and fails the test if the server's
    log shows an unhandled error.
    """
    server = BastionServer(tmp_path / "bastion")
    dsn, schema = pg_dsn(), f"t_{uuid.uuid4().hex[:16]}"
    if db_kind == "postgres":
        assert dsn is not None
        text = server.config_path.read_text(encoding="utf-8")
        text = set_toml_line(text, "database", "url", json.dumps(dsn))
        text = set_toml_line(text, "database", "schema", json.dumps(schema))
        text = set_toml_line(text, "database", "pool_size", "4")
        server.config_path.write_text(text, encoding="utf-8")
    try:
        yield server
    finally:
        server.stop()
        if db_kind == "postgres" and dsn is not None:
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            finally:
                await conn.close()
    assert "Traceback" not in server.log_text(), server.log_text()


async def seed(server: BastionServer, build: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run `build` on the server's own config and database, in-process, before it starts."""
    assert not server.running, "seed before starting the server"
    runtime = await Runtime.open(load_config(server.config_path))
    try:
        return await build(runtime)
    finally:
        await runtime.close()


class Account:
    """A logged-in device over raw HTTP: what an app holds after password login."""

    def __init__(self, http: httpx.AsyncClient, user_id: str, device_id: str, token: str) -> None:
        self.http = http
        self.user_id = user_id
        self.device_id = device_id
        self.token = token

    async def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """A client-server API call with this device's access token."""
        return await self.http.request(
            method, path, json=body, headers={"Authorization": f"Bearer {self.token}"}
        )

    async def ok(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """A call that must succeed; its JSON body."""
        response = await self.call(method, path, body)
        assert response.status_code == 200, (method, path, response.status_code, response.text)
        result: dict[str, Any] = response.json()
        return result


async def log_in(http: httpx.AsyncClient, localpart: str, device_name: str) -> Account:
    """POST /_matrix/client/v3/login with the password: a new device."""
    response = await http.post(
        "/_matrix/client/v3/login",
        json={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart},
            "password": PASSWORD,
            "initial_device_display_name": device_name,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return Account(http, body["user_id"], body["device_id"], body["access_token"])
