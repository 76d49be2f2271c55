"""A real application service endpoint for tests: an HTTP server on 127.0.0.1 recording every
request the homeserver makes to it (method, path, Authorization header, JSON body) and answering
200 `{}` unless a test queued another answer. Only what the spec's application service API
defines is served (transactions, ping, the user and alias queries); anything else is 404
M_UNRECOGNIZED, as the spec asks of a service."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Any

from tests.loopback_json import LoopbackJsonServer

KNOWN = (
    "/_matrix/app/v1/transactions/",
    "/_matrix/app/v1/ping",
    "/_matrix/app/v1/users/",
    "/_matrix/app/v1/rooms/",
    "/_matrix/app/v1/thirdparty/",
)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    authorization: str | None
    body: dict[str, Any]


class FakeAppService:
    """Records requests; answers from a queue of (status, body), else 200 {}."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        """`tls`: served over https with the certificate that server context holds."""
        self.requests: list[Received] = []
        # called in the server's thread before answering (a test creates what a query asks for)
        self.on_request: Callable[[Received], None] | None = None
        self._answers: list[tuple[int, Any]] = []
        self._lock = threading.Lock()
        self._server = LoopbackJsonServer(self._answer, tls)

    @property
    def url(self) -> str:
        return self._server.base_url

    def answer(self, status: int, body: Any = None) -> None:
        """Queue the answer to the next request (a JSON object or, for lookups, a list)."""
        with self._lock:
            self._answers.append((status, body if body is not None else {}))

    def transactions(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(KNOWN[0])]

    def _answer(
        self, method: str, path: str, headers: Message, body: dict[str, Any]
    ) -> tuple[int, Any]:
        received = Received(method, path, headers.get("Authorization"), body)
        if self.on_request is not None:
            self.on_request(received)
        with self._lock:
            self.requests.append(received)
            if not path.startswith(KNOWN):
                return 404, {"errcode": "M_UNRECOGNIZED", "error": "unknown endpoint"}
            return self._answers.pop(0) if self._answers else (200, {})

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()


def running_appservice(tls: ssl.SSLContext | None = None) -> Iterator[FakeAppService]:
    """Body of a fixture: a started service, stopped afterwards."""
    service = FakeAppService(tls)
    service.start()
    try:
        yield service
    finally:
        service.stop()
