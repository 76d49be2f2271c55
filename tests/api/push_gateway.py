"""A real push gateway for tests: an HTTP server on 127.0.0.1 that records every notify body,
answers with the statuses a test queues, and checks each body against the Push Gateway API's
request schema (spec: push-gateway-api#post_matrixpushv1notify, data/api/push-gateway/
push_notifier.yaml, transcribed below)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from email.message import Message
from typing import Any

import jsonschema

from tests.loopback_json import LoopbackJsonServer

NOTIFY_PATH = "/_matrix/push/v1/notify"

# The request body schema of POST /_matrix/push/v1/notify, from the spec's OpenAPI file.
NOTIFY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["notification"],
    "properties": {
        "notification": {
            "type": "object",
            "required": ["devices"],
            "properties": {
                "event_id": {"type": "string"},
                "room_id": {"type": "string"},
                "type": {"type": "string"},
                "sender": {"type": "string"},
                "sender_display_name": {"type": "string"},
                "room_name": {"type": "string"},
                "room_alias": {"type": "string"},
                "user_is_target": {"type": "boolean"},
                "prio": {"type": "string", "enum": ["high", "low"]},
                "content": {"type": "object"},
                "counts": {
                    "type": "object",
                    "properties": {
                        "unread": {"type": "integer"},
                        "missed_calls": {"type": "integer"},
                    },
                },
                "devices": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["app_id", "pushkey"],
                        "properties": {
                            "app_id": {"type": "string"},
                            "pushkey": {"type": "string"},
                            "pushkey_ts": {"type": "integer"},
                            "data": {"type": "object"},
                            "tweaks": {"type": "object"},
                        },
                    },
                },
            },
        }
    },
}


class PushGateway:
    """Records notify requests; answers 200 `{"rejected": []}` unless a test queued otherwise."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._answers: list[tuple[int, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._arrived: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._server = LoopbackJsonServer(self._answer)

    @property
    def url(self) -> str:
        return f"{self._server.base_url}{NOTIFY_PATH}"

    def answer(self, status: int, body: dict[str, Any] | None = None) -> None:
        """Queue the answer to the next request."""
        with self._lock:
            self._answers.append((status, body if body is not None else {"rejected": []}))

    def arrival(self) -> asyncio.Event:
        """An event set when the next request arrives (for the background worker's tests)."""
        event = asyncio.Event()
        with self._lock:
            self._arrived.append((asyncio.get_running_loop(), event))
        return event

    async def received(self, count: int, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        """Wait (bounded) until `count` requests have arrived; returns the bodies."""
        async with asyncio.timeout(timeout_s):
            while True:
                arrived = self.arrival()
                with self._lock:
                    if len(self.bodies) >= count:
                        return list(self.bodies)
                await arrived.wait()

    def _record(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.paths.append(path)
            self.bodies.append(body)
            answer = self._answers.pop(0) if self._answers else (200, {"rejected": []})
            arrived, self._arrived = self._arrived, []
        for loop, event in arrived:
            loop.call_soon_threadsafe(event.set)
        return answer

    def _answer(
        self, _method: str, path: str, _headers: Message, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        return self._record(path, body)

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()


def check_schema(body: dict[str, Any]) -> None:
    """Fail unless `body` is a valid notify request per the spec's schema."""
    jsonschema.validate(body, NOTIFY_SCHEMA)


def running_gateway() -> Iterator[PushGateway]:
    """Body of a fixture: a started gateway, stopped afterwards."""
    gateway = PushGateway()
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()
