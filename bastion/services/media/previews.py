"""URL previews (spec: client-server-api#get_matrixclientv1mediapreview_url): the Open Graph
data of a link a user saw in a message, its image stored in the media repository.

Only when `media.url_previews` is on (off by default: see the config's note); otherwise 404
`M_UNRECOGNIZED`, as a server without the feature answers. The page and its image are fetched
by `UrlFetcher` (url_fetch.py: the network rules, the size and time bounds). What is answered:
- an HTML page: its `og:*` properties (opengraph.py); its `og:image`, when it is one, fetched
  too and stored as media of the requester: `og:image` becomes its `mxc://` URI, with
  `matrix:image:size`, `og:image:type`, `og:image:width` and `og:image:height`. An image that
  cannot be fetched, or that the image library does not recognise, is left out (the text
  preview stands);
- an image: the same four image fields, and the link as `og:url`;
- anything else: `{}` (there is nothing to show; not an error).

A URL the rules refuse is 403 `M_FORBIDDEN`; a site that does not answer usably is 502
`M_UNKNOWN`. A preview is kept in memory for an hour (`CACHE_MS`; at most `MAX_CACHED` URLs),
so a link many people see is fetched once per process. `ts` is accepted and not used: "The
server may return a newer version if it does not have the requested version available."
"""

from __future__ import annotations

import io
import warnings
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Protocol
from urllib.parse import urljoin, urlsplit

from PIL import Image

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.json_types import JsonObject
from bastion.services.media.opengraph import open_graph, page_text
from bastion.services.media.service import UploadInfo
from bastion.services.media.url_fetch import Fetched, FetchFailed, FetchRefused, UrlFetcher
from bastion.services.principal import Requester

CACHE_MS = 3_600_000
MAX_CACHED = 1_000
MAX_URL_LENGTH = 2_000
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


class MediaUploads(Protocol):
    """Stores a file as media (services/media/service.py)."""

    async def upload(
        self, requester: Requester, info: UploadInfo, body: AsyncIterator[bytes]
    ) -> str: ...


class UrlPreviews:
    """Previews of links; None `fetcher`: previews are off."""

    def __init__(self, fetcher: UrlFetcher | None, media: MediaUploads, clock: Clock) -> None:
        self._fetcher = fetcher
        self._media = media
        self._clock = clock
        self._cache: OrderedDict[str, tuple[int, JsonObject]] = OrderedDict()

    async def preview(self, requester: Requester, url: str | None) -> JsonObject:
        """The preview of `url` (module docstring)."""
        fetcher = self._fetcher
        if fetcher is None:
            raise MatrixError(404, Errcode.UNRECOGNIZED, "URL previews are off on this server")
        if not url:
            raise MatrixError(400, Errcode.MISSING_PARAM, "the url query parameter is missing")
        if len(url) > MAX_URL_LENGTH or urlsplit(url).scheme not in ("http", "https"):
            raise MatrixError(400, Errcode.INVALID_PARAM, "url must be an http(s) URL")
        now = self._clock.now_ms()
        cached = self._cache.get(url)
        if cached is not None and now - cached[0] < CACHE_MS:
            return dict(cached[1])
        try:
            fetched = await fetcher.fetch(url)
            preview = await self._describe(requester, fetcher, fetched)
        except FetchRefused as exc:
            raise MatrixError(403, Errcode.FORBIDDEN, f"cannot preview this URL: {exc}") from exc
        except FetchFailed as exc:
            raise MatrixError(502, Errcode.UNKNOWN, f"could not fetch the URL: {exc}") from exc
        self._cache[url] = (now, preview)
        self._cache.move_to_end(url)
        while len(self._cache) > MAX_CACHED:
            self._cache.popitem(last=False)
        return dict(preview)

    async def _describe(
        self, requester: Requester, fetcher: UrlFetcher, fetched: Fetched
    ) -> JsonObject:
        media_type = fetched.content_type.split(";", 1)[0].strip().lower()
        if media_type.startswith("image/"):
            image = await self._stored_image(requester, fetched)
            return {"og:url": fetched.url, **image} if image else {}
        if media_type not in _HTML_TYPES:
            return {}
        preview: JsonObject = dict(open_graph(page_text(fetched.body, fetched.content_type)))
        link = preview.pop("og:image", None)
        for key in ("og:image:width", "og:image:height", "og:image:type", "og:image:size"):
            preview.pop(key, None)  # the stored image's own facts replace the page's claims
        if link:
            try:
                image_page = await fetcher.fetch(urljoin(fetched.url, link))
            except (FetchRefused, FetchFailed):
                image_page = None  # the text preview stands without its picture
            if image_page is not None:
                preview |= await self._stored_image(requester, image_page)
        return preview

    async def _stored_image(self, requester: Requester, fetched: Fetched) -> JsonObject:
        """The image stored as media, and its facts; {} when it is not an image."""
        described = _image_facts(fetched.body)
        if described is None:
            return {}
        mime, width, height = described

        async def body() -> AsyncIterator[bytes]:
            yield fetched.body

        info = UploadInfo(content_type=mime, filename=None, declared_length=len(fetched.body))
        try:
            mxc = await self._media.upload(requester, info, body())
        except MatrixError:  # larger than media.max_upload_bytes: the preview goes without it
            return {}
        return {
            "og:image": mxc,
            "og:image:type": mime,
            "og:image:width": width,
            "og:image:height": height,
            "matrix:image:size": len(fetched.body),
        }


def _image_facts(data: bytes) -> tuple[str, int, int] | None:
    """(MIME type, width, height) of an image the image library recognises, else None (an
    image too large to be safe to decode later is not one)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                mime = Image.MIME.get(image.format or "")
                width, height = image.size
    except (OSError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None
    return (mime, width, height) if mime and mime.startswith("image/") else None
