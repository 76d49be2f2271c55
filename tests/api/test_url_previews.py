"""URL previews (spec: client-server-api#get_matrixclientv1mediapreview_url): "Get information
about a URL for the client. Typically this is called when a client sees a URL in a message and
wants to render a preview"; "200: The OpenGraph data for the URL, which may be empty. Some
values are replaced with matrix equivalents": `og:image` "An mxc:// URI to the image",
`matrix:image:size` "The byte-size of the image".

A real site on 127.0.0.1 (preview_site.py). Loopback is one of the ranges previews never reach
by default; these tests allow it as an operator would allow an intranet, and one class keeps
the default to show the refusals.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bastion.config import MediaConfig
from tests.api.preview_site import PreviewSite, running_site
from tests.conftest import Homeserver, UserClient, errcode

PREVIEW = "/_matrix/client/v1/media/preview_url"


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 120, 200)).save(out, "PNG")
    return out.getvalue()


def page(head: str) -> bytes:
    return f"<!doctype html><html><head>{head}</head><body><p>text</p></body></html>".encode()


async def preview(hs: Homeserver, user: UserClient, url: str, **params: str) -> Any:
    return await hs.http.get(
        PREVIEW, params={"url": url, **params}, headers={"Authorization": f"Bearer {user.token}"}
    )


@pytest.fixture
def site() -> Iterator[PreviewSite]:
    yield from running_site()


@pytest.fixture
def config_overrides(tmp_path: Path) -> dict[str, Any]:
    media = MediaConfig(
        store_path=str(tmp_path / "media"),
        url_previews=True,
        url_preview_allowed_ranges=["127.0.0.0/8"],
        url_preview_max_bytes=200_000,
    )
    return {"media": media}


async def test_a_page_is_previewed_with_its_image(hs: Homeserver, site: PreviewSite) -> None:
    alice = await hs.register_user("alice")
    picture = png(64, 32)
    site.put("/img/cover.png", picture, "image/png")
    head = (
        '<meta property="og:title" content="Dyżury  w\n grudniu">'
        '<meta property="og:description" content="Grafik oddziału">'
        '<meta property="og:image" content="/img/cover.png">'
        '<meta property="og:image:width" content="9999">'  # the page's claim is not repeated
        '<meta property="og:site_name" content="Szpital">'
    )
    url = site.put("/news/rota", page(head), "text/html; charset=utf-8")
    resp = await preview(hs, alice, url, ts="1700000000000")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["og:title"] == "Dyżury w grudniu"
    assert (body["og:description"], body["og:site_name"]) == ("Grafik oddziału", "Szpital")
    assert (body["og:image:width"], body["og:image:height"]) == (64, 32)
    assert (body["og:image:type"], body["matrix:image:size"]) == ("image/png", len(picture))
    assert body["og:image"].startswith(f"mxc://{hs.server_name}/")
    media_id = body["og:image"].rsplit("/", 1)[1]
    stored = await alice.http.get(
        f"/_matrix/client/v1/media/download/{hs.server_name}/{media_id}",
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    assert stored.content == picture
    # The site was asked for the page and the image, uncompressed, and told who asks.
    assert site.paths() == ["/news/rota", "/img/cover.png"]
    assert site.requests[0][1]["Accept-Encoding"] == "identity"
    # A second look at the same link is answered from memory: the site is not asked again.
    again = await preview(hs, alice, url)
    assert again.json() == body
    assert len(site.requests) == 2


async def test_fallbacks_charsets_images_and_other_content(
    hs: Homeserver, site: PreviewSite
) -> None:
    alice = await hs.register_user("alice")
    head = '<meta charset="iso-8859-2"><title>Zażółć gęślą jaźń</title>'
    head += '<meta name="description" content="Opis strony">'
    url = site.put("/pl", page(head).decode().encode("iso-8859-2"), "text/html")
    body = (await preview(hs, alice, url)).json()
    assert body == {"og:title": "Zażółć gęślą jaźń", "og:description": "Opis strony"}

    picture = png(10, 20)
    url = site.put("/photo", picture, "image/png")
    body = (await preview(hs, alice, url)).json()
    assert body["og:url"] == url
    assert (body["og:image:width"], body["og:image:height"]) == (10, 20)
    assert body["matrix:image:size"] == len(picture)

    url = site.put("/report.pdf", b"%PDF-1.7 ...", "application/pdf")
    assert (await preview(hs, alice, url)).json() == {}
    # An og:image that is not an image: the text preview stands without it.
    site.put("/not-an-image", b"<html>nope</html>", "image/png")
    head = (
        '<meta property="og:image" content="/not-an-image"><meta property="og:title" content="T">'
    )
    url = site.put("/bad-image", page(head), "text/html")
    assert (await preview(hs, alice, url)).json() == {"og:title": "T"}


async def test_redirects_are_followed_and_checked(hs: Homeserver, site: PreviewSite) -> None:
    alice = await hs.register_user("alice")
    site.put("/new", page("<title>Moved here</title>"), "text/html")
    site.pages["/old"] = (302, {"Location": "/new"}, b"")
    resp = await preview(hs, alice, site.url + "/old")
    assert resp.json() == {"og:title": "Moved here"}
    # A redirect into a range previews may not reach is refused before any connection.
    site.pages["/inside"] = (302, {"Location": "http://10.1.2.3/admin"}, b"")
    assert errcode(await preview(hs, alice, site.url + "/inside")) == (403, "M_FORBIDDEN")
    site.pages["/loop"] = (302, {"Location": "/loop"}, b"")
    assert errcode(await preview(hs, alice, site.url + "/loop")) == (502, "M_UNKNOWN")


async def test_failures_and_bad_requests(hs: Homeserver, site: PreviewSite) -> None:
    alice = await hs.register_user("alice")
    assert errcode(await preview(hs, alice, site.url + "/missing")) == (502, "M_UNKNOWN")
    large = site.put("/large", b"x" * 200_001, "text/html")
    assert errcode(await preview(hs, alice, large)) == (502, "M_UNKNOWN")
    zipped = site.put("/zipped", b"\x1f\x8b...", "text/html", **{"Content-Encoding": "gzip"})
    assert errcode(await preview(hs, alice, zipped)) == (502, "M_UNKNOWN")
    unknown = await preview(hs, alice, "http://no-such-host.invalid/")
    assert errcode(unknown) == (502, "M_UNKNOWN")
    missing = await hs.http.get(PREVIEW, headers={"Authorization": f"Bearer {alice.token}"})
    assert errcode(missing) == (400, "M_MISSING_PARAM")
    assert errcode(await preview(hs, alice, "ftp://example.org/x")) == (400, "M_INVALID_PARAM")
    assert errcode(await preview(hs, alice, "http:///nohost")) == (403, "M_FORBIDDEN")
    bad_ts = await preview(hs, alice, site.url + "/x", ts="yesterday")
    assert errcode(bad_ts) == (400, "M_INVALID_PARAM")
    anonymous = await hs.http.get(PREVIEW, params={"url": site.url})
    assert errcode(anonymous) == (401, "M_MISSING_TOKEN")
    # The deprecated path answers the same, with a token.
    ok = site.put("/ok", page("<title>OK</title>"), "text/html")
    legacy = await hs.http.get(
        "/_matrix/media/v3/preview_url",
        params={"url": ok},
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    assert legacy.json() == {"og:title": "OK"}


class TestDefaultRanges:
    """Previews on, no exception: loopback, private and link-local addresses are never fetched."""

    @pytest.fixture
    def config_overrides(self, tmp_path: Path) -> dict[str, Any]:
        return {"media": MediaConfig(store_path=str(tmp_path / "media"), url_previews=True)}

    async def test_inner_addresses_are_refused(self, hs: Homeserver, site: PreviewSite) -> None:
        alice = await hs.register_user("alice")
        url = site.put("/secret", page("<title>internal</title>"), "text/html")
        for target in (
            url,
            url.replace("127.0.0.1", "localhost"),
            "http://10.0.0.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:8008/",
            "http://[::ffff:127.0.0.1]/",
            "http://0.0.0.0/",
        ):
            assert errcode(await preview(hs, alice, target)) == (403, "M_FORBIDDEN"), target
        assert site.requests == []


class TestPreviewsOff:
    @pytest.fixture
    def config_overrides(self, tmp_path: Path) -> dict[str, Any]:
        return {"media": MediaConfig(store_path=str(tmp_path / "media"))}

    async def test_off_by_default(self, hs: Homeserver, site: PreviewSite) -> None:
        alice = await hs.register_user("alice")
        url = site.put("/page", page("<title>T</title>"), "text/html")
        assert errcode(await preview(hs, alice, url)) == (404, "M_UNRECOGNIZED")
        assert site.requests == []


class TestImagesOverTheUploadLimit:
    """The preview's image is stored as media: one larger than `max_upload_bytes` is left out,
    the text preview stands."""

    @pytest.fixture
    def config_overrides(self, tmp_path: Path) -> dict[str, Any]:
        media = MediaConfig(
            store_path=str(tmp_path / "media"),
            max_upload_bytes=100,
            url_previews=True,
            url_preview_allowed_ranges=["127.0.0.1/32"],
        )
        return {"media": media}

    async def test_the_image_is_left_out(self, hs: Homeserver, site: PreviewSite) -> None:
        alice = await hs.register_user("alice")
        site.put("/big.png", png(200, 200), "image/png")
        head = '<title>Big</title><meta property="og:image" content="/big.png">'
        url = site.put("/big", page(head), "text/html")
        assert (await preview(hs, alice, url)).json() == {"og:title": "Big"}


class TestSlowSites:
    """ "Each request, whole (not only each read), is bounded": a site dripping its page a few
    bytes at a time, each piece well within the timeout, is given up on all the same."""

    @pytest.fixture
    def config_overrides(self, tmp_path: Path) -> dict[str, Any]:
        media = MediaConfig(
            store_path=str(tmp_path / "media"),
            url_previews=True,
            url_preview_allowed_ranges=["127.0.0.1/32"],
            url_preview_timeout_seconds=0.5,
        )
        return {"media": media}

    async def test_a_dripping_site_is_given_up_on(self, hs: Homeserver, site: PreviewSite) -> None:
        alice = await hs.register_user("alice")
        url = site.put("/drip", page("<title>" + "slow " * 20 + "</title>"), "text/html")
        site.drip["/drip"] = 0.1  # 0.1 s a piece, ~20 pieces: 2 s in all
        assert errcode(await preview(hs, alice, url)) == (502, "M_UNKNOWN")
        quick = site.put("/quick", page("<title>Quick</title>"), "text/html")
        assert (await preview(hs, alice, quick)).json() == {"og:title": "Quick"}
