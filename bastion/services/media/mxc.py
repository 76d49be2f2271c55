"""`mxc://` URIs: the one place media IDs are made and checked.

A media ID reaches the filesystem (as a file name), so it is checked against the spec's strict
alphabet before anything else looks at it, and one that fails is simply "not found": there is
nothing to tell a client about a name we would never have issued.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Iterator

from bastion.errors import Errcode, MatrixError

# spec: client-server-api#matrix-content-mxc-uris (alphanumerics, '_' and '-' only)
MEDIA_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,255}")
_MEDIA_ID_BYTES = 18  # 144 random bits: 24 URL-safe base64 characters, unguessable
_MAX_DEPTH = 8  # how deep into an event's content URIs are looked for


def new_media_id() -> str:
    """A fresh random media ID."""
    return secrets.token_urlsafe(_MEDIA_ID_BYTES)


def content_uri(server_name: str, media_id: str) -> str:
    """`mxc://server_name/media_id`."""
    return f"mxc://{server_name}/{media_id}"


def require_local_media_id(our_server_name: str, server_name: str, media_id: str) -> str:
    """`media_id` if it names well-formed media of this server; else 404 M_NOT_FOUND.

    There is no federation yet, so media of another server cannot be fetched.
    """
    if server_name != our_server_name:
        raise MatrixError(404, Errcode.NOT_FOUND, f"media of {server_name!r} is not available")
    if MEDIA_ID_PATTERN.fullmatch(media_id) is None:
        raise MatrixError(404, Errcode.NOT_FOUND, "unknown media ID")
    return media_id


def local_media_id(server_name: str, uri: str) -> str | None:
    """The media ID of `uri` when it is a well-formed `mxc://` URI of this server; else None."""
    media_id = uri.removeprefix(f"mxc://{server_name}/")
    return media_id if media_id != uri and MEDIA_ID_PATTERN.fullmatch(media_id) else None


def mxc_uris_in(content: object) -> Iterator[str]:
    """Every `mxc://` string in an event's content, however nested (`url`,
    `info.thumbnail_url`, an encrypted file's `file.url`, ...), to a bounded depth."""
    yield from (text for text in _strings(content, 0) if text.startswith("mxc://"))


def mxc_uris_in_stored(pdus: Iterable[str]) -> set[str]:
    """Every `mxc://` string in these stored events' content (stored JSON that does not parse
    names nothing)."""
    found: set[str] = set()
    for pdu in pdus:
        try:
            event = json.loads(pdu)
        except ValueError:
            continue
        found.update(mxc_uris_in(event.get("content")))
    return found


def local_media_ids(pdus: Iterable[str], server_name: str) -> set[str]:
    """The IDs of this server's media that these stored events' content names (what may go when
    the events, or kept redacted originals, are deleted: services/retention/purge.py)."""
    uris = mxc_uris_in_stored(pdus)
    return {media_id for uri in uris if (media_id := local_media_id(server_name, uri)) is not None}


def _strings(value: object, depth: int) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif depth < _MAX_DEPTH and isinstance(value, dict):
        for item in value.values():
            yield from _strings(item, depth + 1)
    elif depth < _MAX_DEPTH and isinstance(value, list):
        for item in value:
            yield from _strings(item, depth + 1)
