"""The load generator's HTTP client and provisioning (accounts, rooms, sends), used by
loadgen.py's scenarios. See loadgen.py for how the load is driven."""

# ruff: noqa: ASYNC109
# (request timeouts are per-call arguments handed to aiohttp, not asyncio timeouts)

from __future__ import annotations

import argparse
import asyncio
import json
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import msgspec
from benchlib import Deadline, ProcWatch, Recorder, latency_stats, rate

PASSWORD = "bench password 1234"
REQUEST_TIMEOUT = 60.0
SYNC_TIMEOUT_MS = 30000
SYNC_HTTP_TIMEOUT = SYNC_TIMEOUT_MS / 1000 + 15.0
WARMUP_MESSAGES = 20
POLLERS_PER_SESSION = 20
SETUP_CONCURRENCY = 8
MAX_RETRIES = 8
# Every long poll: a short timeline, members lazy-loaded (a 1,000-member room's state is not
# what fanout measures), no presence.
POLL_FILTER = json.dumps(
    {
        "room": {"timeline": {"limit": 5}, "state": {"lazy_load_members": True}},
        "presence": {"not_types": ["*"]},
    },
    separators=(",", ":"),
)

_decode = msgspec.json.decode


class BenchError(Exception):
    pass


def q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


class Client:
    """One aiohttp session (one connection pool) to the server."""

    def __init__(self, base_url: str, *, connections: int) -> None:
        self.session = aiohttp.ClientSession(
            base_url=base_url,
            connector=aiohttp.TCPConnector(limit=connections, limit_per_host=connections),
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
            trust_env=False,
        )

    async def close(self) -> None:
        await self.session.close()

    async def call(
        self,
        rec: Recorder,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: Any = None,
        params: dict[str, str] | None = None,
        timeout: float = REQUEST_TIMEOUT,
    ) -> tuple[int, Any, int]:
        """One request: (status, parsed JSON or text, body size). Transport errors give 0."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = None
        if body is not None:
            data = msgspec.json.encode(body)
            headers["Content-Type"] = "application/json"
        try:
            async with self.session.request(
                method,
                path,
                data=data,
                params=params,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as resp:
                raw = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            rec.status("transport_error")
            rec.error(method, path, body, "transport_error", f"{type(exc).__name__}: {exc}")
            return 0, None, 0
        rec.status(status)
        try:
            parsed: Any = _decode(raw)
        except msgspec.DecodeError:
            parsed = raw.decode("utf-8", "replace")
        if status != 200:
            rec.error(method, path, body, status, raw.decode("utf-8", "replace"))
        return status, parsed, len(raw)

    async def must(self, rec: Recorder, method: str, path: str, **kw: Any) -> Any:
        """A set-up request that must succeed. 429s are waited out, and a 503 is tried again
        after a short pause (both still counted in `rec`); any other failure ends the scenario.
        """
        for attempt in range(MAX_RETRIES):
            status, data, _ = await self.call(rec, method, path, **kw)
            if status == 429 and isinstance(data, dict):
                await asyncio.sleep(min(5.0, data.get("retry_after_ms", 500) / 1000))
                continue
            if status == 503:
                await asyncio.sleep(0.05 * (attempt + 1))
                continue
            if status != 200:
                raise BenchError(f"{method} {path} -> {status}: {str(data)[:500]}")
            return data
        raise BenchError(f"{method} {path}: still 429/503 after {MAX_RETRIES} tries")


async def bounded_gather(
    limit: int, jobs: list[Callable[[], Awaitable[Any]]], stop_at: float | None = None
) -> list[Any]:
    """Run jobs with at most `limit` at once; jobs not started by `stop_at` are skipped."""
    sem = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[Any]]) -> Any:
        async with sem:
            if stop_at is not None and time.monotonic() > stop_at:
                raise BenchError("time budget for this setup step exhausted")
            return await job()

    return await asyncio.gather(*(one(j) for j in jobs))


class BenchBase:
    def __init__(self, args: argparse.Namespace, watch: ProcWatch | None) -> None:
        self.args = args
        self.watch = watch
        self.http = Client(args.base_url, connections=64)
        self.setup_rec = Recorder()
        self.tokens: dict[str, str] = {}
        self.run_id = f"{time.time_ns()}"
        self.deadline = Deadline(args.deadline)
        # The send scenario's room and how many messages it holds, for history to build on.
        self.send_room: tuple[str, int, int] | None = None  # room, messages, senders joined
        # What a scenario has finished so far, kept if the overall deadline cuts it short.
        self.partial: dict[str, dict[str, Any]] = {}

    def begin(self) -> dict[str, Any]:
        if self.watch is None:
            return {"t": time.perf_counter(), "client_cpu": time.process_time()}
        return self.watch.begin()

    def end(self, begun: dict[str, Any]) -> dict[str, Any]:
        if self.watch is None:
            wall = time.perf_counter() - begun["t"]
            return {
                "wall_s": round(wall, 3),
                "loadgen_cpu_s": round(time.process_time() - begun["client_cpu"], 3),
            }
        return self.watch.end(begun)

    # --- accounts and rooms ----------------------------------------------------------------

    def localpart(self, name: str) -> str:
        return f"{self.args.prefix}{name}"

    async def account(self, name: str) -> str:
        """Register `name` (m.login.dummy), or log in if it exists; returns an access token."""
        localpart = self.localpart(name)
        body: dict[str, Any] = {
            "username": localpart,
            "password": PASSWORD,
            "initial_device_display_name": "bench",
            "auth": {"type": "m.login.dummy"},
        }
        rec = self.setup_rec
        for _ in range(MAX_RETRIES):
            status, data, _ = await self.http.call(
                rec, "POST", "/_matrix/client/v3/register", body=body
            )
            if status == 200:
                return str(data["access_token"])
            if status == 401 and isinstance(data, dict) and "session" in data:
                body["auth"] = {"type": "m.login.dummy", "session": data["session"]}
                continue
            if status == 429 and isinstance(data, dict):
                await asyncio.sleep(min(5.0, data.get("retry_after_ms", 500) / 1000))
                continue
            if status == 400 and isinstance(data, dict) and data.get("errcode") == "M_USER_IN_USE":
                return await self.login(localpart)
            raise BenchError(f"register {localpart} -> {status}: {str(data)[:500]}")
        raise BenchError(f"register {localpart}: gave up")

    async def login(self, localpart: str) -> str:
        data = await self.http.must(
            self.setup_rec,
            "POST",
            "/_matrix/client/v3/login",
            body={
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": localpart},
                "password": PASSWORD,
                "initial_device_display_name": "bench",
            },
        )
        return str(data["access_token"])

    async def accounts(self, names: list[str], setup: dict[str, Any], label: str) -> list[str]:
        missing = [n for n in names if n not in self.tokens]
        if missing:
            t0 = time.perf_counter()
            tokens = await bounded_gather(
                SETUP_CONCURRENCY,
                [lambda n=n: self.account(n) for n in missing],
                self.deadline.within(self.args.setup_budget),
            )
            self.tokens.update(zip(missing, tokens, strict=True))
            setup[f"{label}_accounts"] = {
                "count": len(missing),
                "s": round(time.perf_counter() - t0, 3),
            }
        return [self.tokens[n] for n in names]

    async def create_room(self, token: str, name: str, *, public: bool = True) -> str:
        body: dict[str, Any] = {
            "preset": "public_chat" if public else "private_chat",
            "name": name,
            "room_version": self.args.room_version,
        }
        data = await self.http.must(
            self.setup_rec, "POST", "/_matrix/client/v3/createRoom", token=token, body=body
        )
        return str(data["room_id"])

    async def join_all(self, room_id: str, tokens: list[str], stop_at: float) -> float:
        t0 = time.perf_counter()
        path = f"/_matrix/client/v3/join/{q(room_id)}"
        await bounded_gather(
            SETUP_CONCURRENCY,
            [
                lambda t=t: self.http.must(self.setup_rec, "POST", path, token=t, body={})
                for t in tokens
            ],
            stop_at,
        )
        return round(time.perf_counter() - t0, 3)

    def send_path(self, room_id: str, txn: str) -> str:
        return f"/_matrix/client/v3/rooms/{q(room_id)}/send/m.room.message/{self.run_id}.{txn}"

    async def send(
        self,
        rec: Recorder,
        room_id: str,
        token: str,
        txn: str,
        text: str,
        client: Client | None = None,
    ) -> tuple[str | None, float]:
        """One message; (event_id or None, seconds)."""
        t0 = time.perf_counter()
        status, data, _ = await (client or self.http).call(
            rec,
            "PUT",
            self.send_path(room_id, txn),
            token=token,
            body={"msgtype": "m.text", "body": text},
        )
        took = time.perf_counter() - t0
        if status == 200 and isinstance(data, dict) and "event_id" in data:
            return str(data["event_id"]), took
        return None, took

    async def send_many(
        self, room_id: str, tokens: list[str], total: int, tag: str, stop_at: float
    ) -> dict[str, Any]:
        """len(tokens) senders, `total` messages in all, each sender one after another."""
        rec = Recorder()
        lat: list[float] = []
        failed = 0
        per = [
            total // len(tokens) + (1 if i < total % len(tokens) else 0) for i in range(len(tokens))
        ]

        async def sender(i: int, tok: str) -> None:
            nonlocal failed
            for j in range(per[i]):
                if time.monotonic() >= stop_at:
                    return
                event_id, took = await self.send(
                    rec, room_id, tok, f"{tag}{i}.{j}", f"{tag} {i} {j}"
                )
                if event_id is None:
                    failed += 1
                else:
                    lat.append(took)

        begun = self.begin()
        await asyncio.gather(*(sender(i, t) for i, t in enumerate(tokens)))
        res = self.end(begun)
        out: dict[str, Any] = {
            "senders": len(tokens),
            "requested": total,
            "sent_ok": len(lat),
            "failed": failed,
            "hit_time_budget": len(lat) + failed < total,
            "msgs_per_s": rate(len(lat), res["wall_s"]),
            "latency": latency_stats(lat),
            "resources": res,
        }
        if "server_cpu_s" in res and lat:
            out["server_cpu_ms_per_event"] = round(1000 * res["server_cpu_s"] / len(lat), 3)
        out.update(rec.report())
        return out

    # --- scenarios ---------------------------------------------------------------------------
