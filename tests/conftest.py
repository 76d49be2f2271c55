"""Shared fixtures: a real Bastion per test, on SQLite and (when available) PostgreSQL.

`hs` is the real app in-process over httpx's ASGI transport, with a real database: a SQLite file
in `tmp_path`, or a fresh schema on the PostgreSQL server named by BASTION_TEST_PG_DSN (the
postgres variant is skipped when that variable is unset; `make test` always sets it).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest

from bastion.app import Runtime, create_app
from bastion.clock import FakeClock
from bastion.config import AuthConfig, Config, DatabaseConfig, MediaConfig, RegistrationConfig
from bastion.server_key import write_new_key
from bastion.services.event_hooks import EventHook
from bastion.services.principal import Operator

PG_DSN_VAR = "BASTION_TEST_PG_DSN"
SERVER_NAME = "test.bastion"
PASSWORD = "correct horse battery staple"
OPERATOR = Operator("test")  # who tests act as when they do what an operator does at the CLI

# argon2id at its production cost would make every login take ~100 ms; tests keep the algorithm
# and shrink the cost.
FAST_AUTH = AuthConfig(
    token_hmac_key="test-hmac-key",
    argon2_time_cost=1,
    argon2_memory_kib=1024,
    argon2_parallelism=1,
)


def pg_dsn() -> str | None:
    """The DSN of the test PostgreSQL server, if one runs."""
    return os.environ.get(PG_DSN_VAR) or None


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_kind(request: pytest.FixtureRequest) -> str:
    """Each database-backed test runs on both backends."""
    kind: str = request.param
    if kind == "postgres" and pg_dsn() is None:
        pytest.skip(f"{PG_DSN_VAR} is not set (run under scripts/with-postgres)")
    return kind


@pytest.fixture
async def database_config(db_kind: str, tmp_path: Path) -> AsyncIterator[DatabaseConfig]:
    """A database of its own for one test: a SQLite file or a fresh PostgreSQL schema."""
    if db_kind == "sqlite":
        yield DatabaseConfig(url=f"sqlite:///{tmp_path / 'bastion.db'}")
        return
    dsn = pg_dsn()
    assert dsn is not None
    schema = f"t_{uuid.uuid4().hex[:16]}"
    yield DatabaseConfig(url=dsn, schema=schema, pool_size=4)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def make_config(tmp_path: Path, database: DatabaseConfig, **overrides: Any) -> Config:
    """A test config with a real signing key in `tmp_path`."""
    key_path = tmp_path / "signing.key"
    if not key_path.exists():
        write_new_key(key_path)
    base = Config(
        server_name=SERVER_NAME,
        signing_key_path=str(key_path),
        database=database,
        auth=FAST_AUTH,
        media=MediaConfig(store_path=str(tmp_path / "media")),
    )
    return msgspec.structs.replace(base, **overrides)


class UserClient:
    """One logged-in user talking to the test server."""

    def __init__(self, http: httpx.AsyncClient, user_id: str, device_id: str, token: str) -> None:
        self.http = http
        self.user_id = user_id
        self.device_id = device_id
        self.token = token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(client_path(path), headers=self._headers(), **kwargs)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.http.post(client_path(path), json=json, headers=self._headers(), **kwargs)

    async def put(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.http.put(client_path(path), json=json, headers=self._headers(), **kwargs)

    async def delete(self, path: str, json: Any = None) -> httpx.Response:
        return await self.http.request(
            "DELETE", client_path(path), json=json, headers=self._headers()
        )

    async def create_room(self, **body: Any) -> str:
        """Create a room; fails the test if refused."""
        resp = await self.post("/createRoom", json=body)
        assert resp.status_code == 200, resp.text
        room_id: str = resp.json()["room_id"]
        return room_id

    async def send_text(self, room_id: str, body: str, txn_id: str | None = None) -> str:
        """Send an m.text message; fails the test if refused."""
        txn = txn_id or secrets.token_hex(8)
        resp = await self.put(
            f"/rooms/{room_id}/send/m.room.message/{txn}", json={"msgtype": "m.text", "body": body}
        )
        assert resp.status_code == 200, resp.text
        event_id: str = resp.json()["event_id"]
        return event_id

    async def join(self, room_id: str) -> None:
        resp = await self.post(f"/join/{room_id}", json={})
        assert resp.status_code == 200, resp.text

    async def sync(self, since: str | None = None, **params: Any) -> dict[str, Any]:
        """GET /sync (timeout 0 unless given); fails the test if refused."""
        query = {"timeout": "0", **{k: str(v) for k, v in params.items()}}
        if since is not None:
            query["since"] = since
        resp = await self.get("/sync", params=query)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body


def client_path(path: str) -> str:
    """`/login` → `/_matrix/client/v3/login`; absolute paths (Matrix, admin APIs, SCIM) are kept."""
    absolute = ("/_matrix", "/.well-known", "/_synapse", "/_bastion", "/scim", "/admin")
    return path if path.startswith(absolute) else f"/_matrix/client/v3{path}"


class Homeserver:
    """A running in-process Bastion and helpers that read like the spec."""

    def __init__(self, runtime: Runtime, http: httpx.AsyncClient, clock: FakeClock) -> None:
        self.runtime = runtime
        self.http = http
        self.clock = clock

    @property
    def server_name(self) -> str:
        return self.runtime.config.server_name

    async def create_user(
        self, localpart: str, password: str = PASSWORD, *, admin: bool = False
    ) -> str:
        """Create an account the way an admin does (CLI / admin API)."""
        return await self.runtime.services.accounts.create_user(
            OPERATOR, localpart, password, is_admin=admin
        )

    async def login(self, localpart: str, password: str = PASSWORD, **extra: Any) -> UserClient:
        """Log in through the HTTP API; fails the test if login is refused."""
        resp = await self.http.post(
            client_path("/login"),
            json={
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": localpart},
                "password": password,
                **extra,
            },
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        return UserClient(self.http, body["user_id"], body["device_id"], body["access_token"])

    async def register_user(self, localpart: str, *, admin: bool = False) -> UserClient:
        """Create an account and log it in."""
        await self.create_user(localpart, admin=admin)
        return await self.login(localpart)

    async def wait_for_waiting_syncs(self, count: int) -> None:
        """Until `count` long-polls are parked on `runtime.wakeups` (they run on the real event
        loop; a bounded wait, not a sleep for a fixed time)."""
        for _ in range(200):
            if self.runtime.wakeups.waiting_users() == count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{self.runtime.wakeups.waiting_users()} syncs waiting, not {count}")


def errcode(resp: httpx.Response) -> tuple[int, str | None]:
    """Status and Matrix errcode of a response (tests assert these, not the prose)."""
    return resp.status_code, resp.json().get("errcode")


async def start_homeserver(
    config: Config, clock: FakeClock, *, event_hooks: Sequence[EventHook] = ()
) -> tuple[Runtime, httpx.AsyncClient]:
    """Open a runtime (with extra `event_hooks`) and an httpx client speaking to it in-process."""
    runtime = await Runtime.open(config, clock, event_hooks=event_hooks)
    transport = httpx.ASGITransport(app=create_app(runtime), client=("203.0.113.7", 5555))
    http = httpx.AsyncClient(transport=transport, base_url="http://bastion.test")
    return runtime, http


@asynccontextmanager
async def homeserver_with(
    tmp_path: Path, database: DatabaseConfig, **overrides: Any
) -> AsyncIterator[Homeserver]:
    """A server like `hs` with config `overrides`, for tests that compare settings."""
    clock = FakeClock()
    runtime, http = await start_homeserver(make_config(tmp_path, database, **overrides), clock)
    try:
        yield Homeserver(runtime, http, clock)
    finally:
        await http.aclose()
        await runtime.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    """Override in a test module to change the config of `hs`."""
    return {}


@pytest.fixture
async def hs(
    tmp_path: Path,
    database_config: DatabaseConfig,
    clock: FakeClock,
    config_overrides: dict[str, Any],
) -> AsyncIterator[Homeserver]:
    config = make_config(tmp_path, database_config, **config_overrides)
    runtime, http = await start_homeserver(config, clock)
    try:
        yield Homeserver(runtime, http, clock)
    finally:
        await http.aclose()
        await runtime.close()


def open_registration() -> dict[str, Any]:
    return {"registration": RegistrationConfig(mode="open")}


def token_registration() -> dict[str, Any]:
    return {"registration": RegistrationConfig(mode="token")}


def random_name() -> str:
    return "u" + secrets.token_hex(4)
