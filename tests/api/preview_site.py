"""A web site on 127.0.0.1 for the URL preview tests: pages a test puts at paths, served by a
thread, with every request it received recorded (so a test can tell that nothing was fetched)."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.loopback_json import LoopbackServer

Page = tuple[int, dict[str, str], bytes]  # status, headers, body


class PreviewSite:
    """Serves `pages` (path -> page) until stopped; 404 for any other path. Over TLS with
    `tls` (a server context holding the site's certificate)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.pages: dict[str, Page] = {}
        self.drip: dict[str, float] = {}  # path -> seconds between each 8-byte piece of body
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path, headers)
        self._server = LoopbackServer(_handler(self), tls)

    @property
    def url(self) -> str:
        return self._server.base_url

    @property
    def port(self) -> int:
        return self._server.port

    def put(self, path: str, body: bytes, content_type: str, **headers: str) -> str:
        """Serve `body` at `path`; its full URL."""
        self.pages[path] = (200, {"Content-Type": content_type, **headers}, body)
        return self.url + path

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()


def running_site(tls: ssl.SSLContext | None = None) -> Iterator[PreviewSite]:
    """A started site (over TLS with `tls`), stopped when the caller's fixture ends."""
    site = PreviewSite(tls)
    site.start()
    try:
        yield site
    finally:
        site.stop()


def _handler(site: PreviewSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.requests.append((self.path, dict(self.headers.items())))
            status, headers, body = site.pages.get(self.path, (404, {}, b"not here"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            pause = site.drip.get(self.path)
            try:
                if pause is None:
                    self.wfile.write(body)
                    return
                for start in range(0, len(body), 8):  # a slow site: a little at a time
                    time.sleep(pause)
                    self.wfile.write(body[start : start + 8])
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return  # the homeserver gave up on it

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
