"""An organisation's egress proxy (docs/operations.md, "Outbound connections"): the server's
calls to identity providers (and push gateways: the same client, services/outbound_http.py)
go through the proxy the standard `HTTP_PROXY`/`HTTPS_PROXY` variables name, unless `NO_PROXY`
exempts the host. A loopback forwarding proxy records what it carried; the whole SSO sign-in
(discovery, keys, the code exchange) must work through it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest

from tests.api import test_sso
from tests.conftest import Homeserver
from tests.loopback_json import LoopbackServer
from tests.oidc_provider import OidcTestProvider

idp = test_sso.idp  # a provider on loopback, and `hs` configured with it
config_overrides = test_sso.config_overrides


class ForwardingProxy(LoopbackServer):
    """A plain HTTP proxy: requests in absolute form (`GET http://host/path`), forwarded."""

    def __init__(self) -> None:
        self.carried: list[str] = []
        lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock:
                    proxy.carried.append(f"{self.command} {self.path}")
                skip = {"host", "content-length", "connection", "proxy-connection"}
                headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                with httpx.Client(trust_env=False) as upstream:
                    answer = upstream.request(
                        self.command, self.path, headers=headers, content=body
                    )
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = _forward

            def log_message(self, format: str, *args: Any) -> None:
                return

        super().__init__(Handler)


@pytest.fixture
def proxy() -> Iterator[ForwardingProxy]:
    server = ForwardingProxy()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_single_sign_on_goes_through_the_egress_proxy(
    hs: Homeserver, idp: OidcTestProvider, proxy: ForwardingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    await hs.create_user("alice")
    finished = await test_sso.sign_in(hs)
    assert finished.status_code == 302, finished.text
    token = test_sso.login_token_of(finished.headers["location"])
    assert (await test_sso.token_login(hs, token)).status_code == 200
    carried = " ".join(proxy.carried)
    assert f"GET {idp.issuer}/.well-known/openid-configuration" in carried
    assert f"GET {idp.issuer}/jwks" in carried
    assert f"POST {idp.issuer}/token" in carried


async def test_no_proxy_exempts_a_host(
    hs: Homeserver, idp: OidcTestProvider, proxy: ForwardingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    await hs.create_user("alice")
    assert (await test_sso.sign_in(hs)).status_code == 302
    assert proxy.carried == []
