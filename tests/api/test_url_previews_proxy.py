"""URL previews behind an organisation's egress proxy (docs/operations.md, "Outbound connections
and an egress proxy"; services/media/url_fetch.py): with `HTTP_PROXY` set, a preview goes through
the proxy by the link's host name, which the proxy resolves, as a server behind one often cannot
resolve outside names itself; the address rules still refuse what this server can see is inner
(an address literal, a name it resolves to one) before anything is sent; `NO_PROXY` exempts a
host, which is then fetched directly.

A loopback forwarding proxy records what it carried and serves the outside name `news.example`
from the test site; this server's resolver is made to fail for that name, as a resolver behind a
proxy does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest

from bastion.config import MediaConfig
from bastion.services.media import url_fetch
from tests.api.preview_site import PreviewSite, running_site
from tests.api.test_url_previews import page, png, preview
from tests.conftest import Homeserver, errcode
from tests.loopback_json import LoopbackServer

OUTSIDE = "http://news.example"


class OutsideProxy(LoopbackServer):
    """A plain HTTP proxy (absolute-form requests) that reaches `news.example` at `site`."""

    def __init__(self, site: PreviewSite) -> None:
        self.carried: list[str] = []
        lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with lock:
                    proxy.carried.append(self.path)
                upstream_url = self.path.replace(OUTSIDE, site.url, 1)
                skip = {"host", "connection", "proxy-connection"}
                headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                with httpx.Client(trust_env=False) as upstream:
                    answer = upstream.get(upstream_url, headers=headers)
                self.send_response(answer.status_code)
                for name in ("Content-Type", "Location"):
                    if name in answer.headers:
                        self.send_header(name, answer.headers[name])
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, format: str, *args: Any) -> None:
                return

        super().__init__(Handler)


@pytest.fixture
def site() -> Iterator[PreviewSite]:
    yield from running_site()


@pytest.fixture
def proxy(site: PreviewSite, monkeypatch: pytest.MonkeyPatch) -> Iterator[OutsideProxy]:
    server = OutsideProxy(site)
    server.start()
    monkeypatch.setenv("HTTP_PROXY", server.base_url)
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    resolve = url_fetch._resolve

    async def behind_a_proxy(host: str, port: int) -> Any:
        if host == "news.example":  # an outside name this server's resolver does not know
            raise url_fetch.FetchFailed(f"{host} does not resolve")
        return await resolve(host, port)

    monkeypatch.setattr(url_fetch, "_resolve", behind_a_proxy)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def config_overrides(tmp_path: Path) -> dict[str, Any]:
    # The default ranges: loopback, private and link-local addresses are refused.
    return {"media": MediaConfig(store_path=str(tmp_path / "media"), url_previews=True)}


async def test_a_link_is_previewed_through_the_proxy(
    hs: Homeserver, site: PreviewSite, proxy: OutsideProxy
) -> None:
    alice = await hs.register_user("alice")
    picture = png(40, 20)
    site.put("/img/ward.png", picture, "image/png")
    head = (
        '<meta property="og:title" content="Oddział 7">'
        '<meta property="og:image" content="/img/ward.png">'
    )
    site.put("/rota", page(head), "text/html; charset=utf-8")

    resp = await preview(hs, alice, f"{OUTSIDE}/rota")

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["og:title"] == "Oddział 7"
    assert body["matrix:image:size"] == len(picture)  # the image came through the proxy too
    assert proxy.carried == [f"{OUTSIDE}/rota", f"{OUTSIDE}/img/ward.png"]
    assert site.requests[0][1]["Accept-Encoding"] == "identity"


async def test_what_this_server_sees_is_inner_is_refused_before_the_proxy(
    hs: Homeserver, site: PreviewSite, proxy: OutsideProxy
) -> None:
    alice = await hs.register_user("alice")
    url = site.put("/secret", page("<title>internal</title>"), "text/html")
    for target in (
        "http://10.0.0.1/",  # an address literal in a denied range
        "http://169.254.169.254/latest/meta-data/",
        url.replace("127.0.0.1", "localhost"),  # a name this server resolves to loopback
    ):
        assert errcode(await preview(hs, alice, target)) == (403, "M_FORBIDDEN"), target
    assert proxy.carried == []
    assert site.requests == []


async def test_a_redirect_to_an_inner_address_is_refused(
    hs: Homeserver, site: PreviewSite, proxy: OutsideProxy
) -> None:
    alice = await hs.register_user("alice")
    site.pages["/moved"] = (302, {"Location": "http://10.1.2.3/admin"}, b"")
    resp = await preview(hs, alice, f"{OUTSIDE}/moved")
    assert errcode(resp) == (403, "M_FORBIDDEN")
    assert proxy.carried == [f"{OUTSIDE}/moved"]


class TestNoProxy:
    """`NO_PROXY` names a host: it is fetched directly (an intranet the operator allowed)."""

    @pytest.fixture
    def config_overrides(self, tmp_path: Path) -> dict[str, Any]:
        media = MediaConfig(
            store_path=str(tmp_path / "media"),
            url_previews=True,
            url_preview_allowed_ranges=["127.0.0.0/8"],
        )
        return {"media": media}

    async def test_an_exempt_host_is_fetched_directly(
        self,
        hs: Homeserver,
        site: PreviewSite,
        proxy: OutsideProxy,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        alice = await hs.register_user("alice")
        url = site.put("/wiki", page("<title>Intranet</title>"), "text/html")
        resp = await preview(hs, alice, url)
        assert resp.status_code == 200, resp.text
        assert resp.json()["og:title"] == "Intranet"
        assert proxy.carried == []
        assert site.paths() == ["/wiki"]
