"""URL previews of `https://` links (services/media/url_fetch.py): the connection goes to the
address this server checked, and the certificate is still verified against the link's host name
(the TLS server name), so a site cannot be previewed with a certificate for another name nor one
from an authority this server does not trust. Behind an egress proxy an `https://` link goes
through a CONNECT tunnel by its host name. The authorities are those `SSL_CERT_FILE` names, as
for the server's other outbound calls (an organisation whose proxy inspects TLS trusts its own
authority once): docs/operations.md, "Link previews".

A test authority is made (tests/tls_authority.py); a TLS site on 127.0.0.1 carries a certificate
it signed for `news.test` only; this server's resolver is made to answer 127.0.0.1 for
`news.test` and `other.test` (directly) or to fail for them (behind the proxy, which resolves
names itself).
"""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from bastion.config import MediaConfig
from bastion.services.media import url_fetch
from tests.api.preview_site import PreviewSite, running_site
from tests.api.test_url_previews import page, preview
from tests.conftest import Homeserver, errcode
from tests.loopback_json import LoopbackServer
from tests.tls_authority import Authority, make_authority, trust_only

NAMED = "news.test"  # the only name the site's certificate carries
UNNAMED = "other.test"  # resolves to the same site, which has no certificate for it


class TunnellingProxy(LoopbackServer):
    """An HTTP proxy that only tunnels (CONNECT), reaching every host at the site's port."""

    def __init__(self, site_port: int) -> None:
        self.tunnels: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_CONNECT(self) -> None:
                proxy.tunnels.append(self.path)
                upstream = socket.create_connection(("127.0.0.1", site_port), timeout=10)
                self.send_response(200, "Connection established")
                self.end_headers()
                _pump(self.connection, upstream)
                upstream.close()
                self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                return

        super().__init__(Handler)


def _pump(one: socket.socket, other: socket.socket) -> None:
    """Copy bytes both ways until either side closes (bounded: 10 s of silence ends it)."""
    sockets = [one, other]
    while True:
        readable, _, _ = select.select(sockets, [], [], 10)
        if not readable:
            return
        for source in readable:
            data = source.recv(65536)
            if not data:
                return
            (other if source is one else one).sendall(data)


def link(site: PreviewSite, host: str, path: str) -> str:
    return f"https://{host}:{site.port}{path}"


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return make_authority(tmp_path, names=(NAMED,))


@pytest.fixture
def site(authority: Authority) -> Iterator[PreviewSite]:
    yield from running_site(authority.server_context)


@pytest.fixture
def trusted(authority: Authority, monkeypatch: pytest.MonkeyPatch) -> None:
    """This server trusts the test authority, as an operator sets it (before the start)."""
    trust_only(monkeypatch, authority.ca_file)


@pytest.fixture
def no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """This server's resolver: the test names are 127.0.0.1 while `known["names"]`, else
    unresolvable (as behind a proxy)."""
    known = {"names": True}
    resolve = url_fetch._resolve

    async def test_names(host: str, port: int) -> Any:
        if host in (NAMED, UNNAMED):
            if not known["names"]:
                raise url_fetch.FetchFailed(f"{host} does not resolve")
            return await resolve("127.0.0.1", port)
        return await resolve(host, port)

    monkeypatch.setattr(url_fetch, "_resolve", test_names)
    return known


@pytest.fixture
def config_overrides(
    tmp_path: Path, trusted: None, no_proxy_variables: None, resolver: dict[str, bool]
) -> dict[str, Any]:
    # The variables are set before the homeserver (and its fetcher) starts, as in production.
    media = MediaConfig(
        store_path=str(tmp_path / "media"),
        url_previews=True,
        url_preview_allowed_ranges=["127.0.0.0/8"],
    )
    return {"media": media}


async def test_an_https_link_is_verified_against_its_host_name(
    hs: Homeserver, site: PreviewSite
) -> None:
    alice = await hs.register_user("alice")
    site.put("/rota", page('<meta property="og:title" content="Dyżury">'), "text/html")

    resp = await preview(hs, alice, link(site, NAMED, "/rota"))

    assert resp.status_code == 200, resp.text
    assert resp.json()["og:title"] == "Dyżury"
    assert site.paths() == ["/rota"]
    # Connected to the checked address, asked by the link's name.
    assert site.requests[0][1]["Host"] == f"{NAMED}:{site.port}"


async def test_a_certificate_for_another_name_is_refused(hs: Homeserver, site: PreviewSite) -> None:
    alice = await hs.register_user("alice")
    site.put("/rota", page("<title>Dyżury</title>"), "text/html")

    resp = await preview(hs, alice, link(site, UNNAMED, "/rota"))

    assert errcode(resp) == (502, "M_UNKNOWN")
    assert site.requests == []  # the handshake failed: nothing was asked


class TestUntrustedAuthority:
    """Without `SSL_CERT_FILE`, the test authority is not one this server trusts."""

    @pytest.fixture
    def trusted(self, monkeypatch: pytest.MonkeyPatch) -> None:
        trust_only(monkeypatch, None)

    async def test_a_site_signed_by_an_unknown_authority_is_refused(
        self, hs: Homeserver, site: PreviewSite
    ) -> None:
        alice = await hs.register_user("alice")
        site.put("/rota", page("<title>Dyżury</title>"), "text/html")

        resp = await preview(hs, alice, link(site, NAMED, "/rota"))

        assert errcode(resp) == (502, "M_UNKNOWN")
        assert site.requests == []


class TestThroughTheProxy:
    """`HTTPS_PROXY` is set and this server cannot resolve the outside names."""

    @pytest.fixture
    def proxy(
        self, site: PreviewSite, monkeypatch: pytest.MonkeyPatch, resolver: dict[str, bool]
    ) -> Iterator[TunnellingProxy]:
        server = TunnellingProxy(site.port)
        server.start()
        monkeypatch.setenv("HTTPS_PROXY", server.base_url)
        resolver["names"] = False
        try:
            yield server
        finally:
            server.stop()

    async def test_an_https_link_goes_through_a_tunnel_by_its_name(
        self, hs: Homeserver, site: PreviewSite, proxy: TunnellingProxy
    ) -> None:
        alice = await hs.register_user("alice")
        site.put("/rota", page('<meta property="og:title" content="Dyżury">'), "text/html")

        resp = await preview(hs, alice, f"https://{NAMED}/rota")

        assert resp.status_code == 200, resp.text
        assert resp.json()["og:title"] == "Dyżury"
        assert proxy.tunnels == [f"{NAMED}:443"]  # by name: the proxy resolves it
        assert site.paths() == ["/rota"]

    async def test_the_certificate_is_still_verified_inside_the_tunnel(
        self, hs: Homeserver, site: PreviewSite, proxy: TunnellingProxy
    ) -> None:
        alice = await hs.register_user("alice")
        site.put("/rota", page("<title>Dyżury</title>"), "text/html")

        resp = await preview(hs, alice, f"https://{UNNAMED}/rota")

        assert errcode(resp) == (502, "M_UNKNOWN")
        assert proxy.tunnels == [f"{UNNAMED}:443"]
        assert site.requests == []
