"""A real application service endpoint for tests: an HTTP server on 127.0.0.1 recording every
request the homeserver makes to it (method, path, Authorization header, JSON body) and answering
200 `{}` unless a test queued another answer. Only what the spec's application service API
defines is served (transactions, ping, the user and alias queries); anything else is 404
M_UNRECOGNIZED, as the spec asks of a service."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KNOWN = (
    "/_matrix/app/v1/transactions/",
    "/_matrix/app/v1/ping",
    "/_matrix/app/v1/users/",
    "/_matrix/app/v1/rooms/",
)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    authorization: str | None
    body: dict[str, Any]


class FakeAppService:
    """Records requests; answers from a queue of (status, body), else 200 {}."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        # called in the server's thread before answering (a test creates what a query asks for)
        self.on_request: Callable[[Received], None] | None = None
        self._answers: list[tuple[int, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(self, status: int, body: dict[str, Any] | None = None) -> None:
        with self._lock:
            self._answers.append((status, body if body is not None else {}))

    def transactions(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(KNOWN[0])]

    def _record(self, received: Received) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append(received)
            if not received.path.startswith(KNOWN):
                return 404, {"errcode": "M_UNRECOGNIZED", "error": "unknown endpoint"}
            return self._answers.pop(0) if self._answers else (200, {})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received = Received(
                    self.command, self.path, self.headers.get("Authorization"),
                    json.loads(raw) if raw else {},
                )  # fmt: skip
                if service.on_request is not None:
                    service.on_request(received)
                status, answer = service._record(received)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_PUT = _serve
            do_POST = _serve
            do_GET = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def running_appservice() -> Iterator[FakeAppService]:
    """Body of a fixture: a started service, stopped afterwards."""
    service = FakeAppService()
    service.start()
    try:
        yield service
    finally:
        service.stop()
