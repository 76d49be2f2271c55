"""Several real `bastion serve` processes of ONE homeserver on PostgreSQL + Redis, and a small
Matrix client to talk to each of them.

`Cluster` makes one data directory with `bastion init` (one signing key, one token HMAC key,
one media store), points its config at a fresh schema on BASTION_TEST_PG_DSN and at a Redis
URL, and writes one config per process that differs only by `[listen] port`: two processes on
one machine stand for two machines behind a load balancer. Each `ServerProcess` is a
tests/clients/server.py `BastionServer` (bounded start, stop, `kill -9`, restart on its port).

`Client` speaks the client-server API over httpx to one process's base URL; a token issued by
one process is valid on every process (one database).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from typing_extensions import override

from tests.clients.server import (
    HOST,
    PASSWORD,
    POLL_INTERVAL,
    START_TIMEOUT,
    BastionServer,
    free_port,
    set_toml_line,
)

PG_DSN_VAR = "BASTION_TEST_PG_DSN"
REDIS_URL_VAR = "BASTION_TEST_REDIS_URL"
REDIS_SERVER_VAR = "BASTION_TEST_REDIS_SERVER"
# Long on purpose: a parked sync answering at all before this is the proof it was woken.
LONG_POLL_MS = 30_000
HTTP_TIMEOUT_S = 60.0
MP_START_TIMEOUT = 120.0


def services_missing() -> str | None:
    """Why the multiprocess tests cannot run here, or None."""
    missing = [v for v in (PG_DSN_VAR, REDIS_URL_VAR) if not os.environ.get(v)]
    if missing:
        return (
            f"{' and '.join(missing)} not set (run under scripts/with-postgres scripts/with-redis)"
        )
    return None


class ServerProcess(BastionServer):
    """One `bastion serve` process of the cluster, on its own config file and port."""

    def __init__(self, directory: Path, config_path: Path, port: int, name: str) -> None:
        self.directory = directory
        self.server_name = "test.bastion"
        self.config_path = config_path
        self.port = port
        self.log_path = directory / f"serve-{name}.log"
        self.process = None
        self._log_file = None
        self.starts = 0
        self.name = name
        self.measured = False

    @override
    def start(self, timeout: float = MP_START_TIMEOUT) -> None:
        """Start and wait until it answers; longer than one process's bound: a process joining
        other writers waits for them to acknowledge it, and for a killed one's writer lease to
        run out (store/shared_stream.py)."""
        super().start(timeout)


class Cluster:
    """A homeserver's data directory on PostgreSQL + Redis, and its processes."""

    def __init__(self, directory: Path, *, redis_url: str) -> None:
        self.schema = f"mp_{uuid.uuid4().hex[:12]}"
        self.home = BastionServer(directory)  # `bastion init`, test port and argon2 cost
        text = self.home.config_path.read_text(encoding="utf-8")
        text = set_toml_line(text, "database", "url", json.dumps(os.environ[PG_DSN_VAR]))
        text = set_toml_line(text, "database", "schema", json.dumps(self.schema))
        text = set_toml_line(text, "redis", "url", json.dumps(redis_url))
        self.config_text = text
        self.home.config_path.write_text(text, encoding="utf-8")
        self.processes: list[ServerProcess] = []
        self.allow_tracebacks = False  # fault tests: a killed peer may make the other log one
        self.clients: list[Client] = []

    async def login(self, server: BastionServer, user_id: str) -> Client:
        """`user_id` logged in on `server`; closed at the end of the test."""
        client = await Client.login(server, user_id)
        self.clients.append(client)
        return client

    async def close_clients(self) -> None:
        for client in self.clients:
            await client.close()

    def use_redis(self, url: str) -> None:
        """Point processes made from now on at the Redis at `url`."""
        self.config_text = set_toml_line(self.config_text, "redis", "url", json.dumps(url))

    @property
    def directory(self) -> Path:
        return self.home.directory

    def process(self, name: str, *, workers: int = 1, metrics_port: int = 0) -> ServerProcess:
        """A new process (not started) with its own port and config file."""
        port = free_port()
        text = set_toml_line(self.config_text, "listen", "port", str(port))
        text = set_toml_line(text, "server", "workers", str(workers))
        text = set_toml_line(text, "metrics", "port", str(metrics_port))
        config_path = self.directory / f"bastion-{name}.toml"
        config_path.write_text(text, encoding="utf-8")
        config_path.chmod(0o600)
        server = ServerProcess(self.directory, config_path, port, name)
        self.processes.append(server)
        return server

    def create_user(self, localpart: str, *, admin: bool = False) -> str:
        return self.home.create_user(localpart, admin=admin)

    def stop_all(self) -> None:
        for server in self.processes:
            server.stop()

    def logs(self) -> str:
        return "\n".join(f"== {p.name}\n{p.log_text()}" for p in self.processes)


async def drop_schema(schema: str) -> None:
    """Drop the cluster's schema."""
    conn = await asyncpg.connect(os.environ[PG_DSN_VAR])
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


class RedisServer:
    """A redis-server of the test's own (BASTION_TEST_REDIS_SERVER), so the test can stop it."""

    def __init__(self, directory: Path) -> None:
        binary = os.environ.get(REDIS_SERVER_VAR) or shutil.which("redis-server")
        assert binary, f"{REDIS_SERVER_VAR} is not set and redis-server is not on PATH"
        self.binary = binary
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        assert self.process is None
        self.process = subprocess.Popen(  # the test's own redis-server
            [
                self.binary,
                "--bind",
                HOST,
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            with socket.socket() as sock:
                if sock.connect_ex((HOST, self.port)) == 0:
                    return
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(POLL_INTERVAL)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)


class Client:
    """A logged-in Matrix user on one process."""

    def __init__(self, base_url: str, user_id: str, token: str) -> None:
        self.base_url = base_url
        self.user_id = user_id
        self.token = token
        self.http = httpx.AsyncClient(
            base_url=f"{base_url}/_matrix/client/v3",
            headers={"Authorization": f"Bearer {token}"},
            timeout=HTTP_TIMEOUT_S,
            trust_env=False,
        )

    @classmethod
    async def login(cls, server: BastionServer, user_id: str) -> Client:
        body = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user_id},
            "password": PASSWORD,
        }
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, trust_env=False) as http:
            resp = await http.post(f"{server.base_url}/_matrix/client/v3/login", json=body)
        assert resp.status_code == 200, resp.text
        return cls(server.base_url, user_id, resp.json()["access_token"])

    def on(self, server: BastionServer) -> Client:
        """The same session, talking to another process."""
        return Client(server.base_url, self.user_id, self.token)

    async def close(self) -> None:
        await self.http.aclose()

    async def create_room(self) -> str:
        resp = await self.http.post("/createRoom", json={"preset": "public_chat"})
        assert resp.status_code == 200, resp.text
        room_id: str = resp.json()["room_id"]
        return room_id

    async def join(self, room_id: str) -> None:
        resp = await self.http.post(f"/join/{room_id}", json={})
        assert resp.status_code == 200, resp.text

    async def send_text(self, room_id: str, body: str, txn_id: str | None = None) -> str:
        txn_id = txn_id or uuid.uuid4().hex
        resp = await self.http.put(
            f"/rooms/{room_id}/send/m.room.message/{txn_id}",
            json={"msgtype": "m.text", "body": body},
        )
        assert resp.status_code == 200, resp.text
        event_id: str = resp.json()["event_id"]
        return event_id

    async def sync(self, since: str | None = None, timeout_ms: int = 0) -> httpx.Response:
        params: dict[str, Any] = {
            "timeout": timeout_ms,
            "filter": json.dumps({"room": {"timeline": {"limit": 1000}}}),
        }
        if since is not None:
            params["since"] = since
        return await self.http.get("/sync", params=params)

    async def sync_ok(self, since: str | None = None, timeout_ms: int = 0) -> dict[str, Any]:
        resp = await self.sync(since, timeout_ms)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body


def joined_room(body: dict[str, Any], room_id: str) -> dict[str, Any]:
    room: dict[str, Any] = body.get("rooms", {}).get("join", {}).get(room_id, {})
    return room


def timeline_events(body: dict[str, Any], room_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = joined_room(body, room_id).get("timeline", {}).get("events", [])
    return events


def ephemeral_types(body: dict[str, Any], room_id: str) -> list[str]:
    return [e["type"] for e in joined_room(body, room_id).get("ephemeral", {}).get("events", [])]
