"""A JSON HTTP endpoint on 127.0.0.1 for tests that need a real server the homeserver calls
(a push gateway, an application service): a thread serves every method through one
`answer(method, path, headers, body) -> (status, JSON answer)` callback. `LoopbackServer` is
the thread and port for any handler (preview_site.py serves web pages with it)."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[[str, str, Message, dict[str, Any]], tuple[int, Any]]


class LoopbackServer:
    """Serves a request handler class on a free loopback port, in a thread, until stopped;
    over TLS with `tls` (a server context holding the certificate)."""

    def __init__(
        self, handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None
    ) -> None:
        self._server = (
            ThreadingHTTPServer(("127.0.0.1", 0), handler)
            if tls is None
            else _TlsServer(("127.0.0.1", 0), handler, tls)
        )
        self._scheme = "http" if tls is None else "https"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class _TlsServer(ThreadingHTTPServer):
    """The handshake runs in each request's thread, not at accept: a client that refuses the
    certificate leaves no request behind and never stalls the server."""

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        tls: ssl.SSLContext,
    ) -> None:
        super().__init__(address, handler)
        self.socket = tls.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            request.do_handshake()
        except OSError:  # ssl.SSLError among them: the client refused the certificate
            return
        super().finish_request(request, client_address)


class LoopbackJsonServer(LoopbackServer):
    """Serves `answer` on a free loopback port until stopped."""

    def __init__(self, answer: Answer, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(_handler(answer), tls)


def _handler(answer: Answer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, body = answer(
                self.command, self.path, self.headers, json.loads(raw) if raw else {}
            )
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
