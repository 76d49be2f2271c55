"""Whether a request's path and query string can be used as text: percent-decoded, UTF-8
without NUL. PostgreSQL refuses NUL in text and SQLite cannot encode a lone surrogate, so a
request failing this is refused before any handler sees its parameters: by the HTTP edge
(api/edge.py, a Matrix error) and, for the console's pages, by the console (a page).

Pure: it reads the ASGI scope and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

# An escape that may decode to NUL or to a byte above ASCII (which may not be UTF-8).
_RISKY_ESCAPE = re.compile(rb"%(?:00|[89a-fA-F][0-9a-fA-F])")


def unusable_text(scope: Mapping[str, Any]) -> str | None:
    """Why the request's path or query string cannot be used as text, if it cannot."""
    raw_path = scope.get("raw_path")
    query: bytes = scope.get("query_string", b"")
    if raw_path and _is_plain_ascii(raw_path) and _is_plain_ascii(query):
        return None  # the common case, checked without decoding anything
    path = unquote_to_bytes(raw_path) if raw_path else scope["path"].encode("utf-8", "replace")
    if not _is_text(path) or not _is_text(scope["path"].encode("utf-8", "surrogatepass")):
        return "the request path must be UTF-8 without NUL characters"
    if query and not _is_text(unquote_to_bytes(query.replace(b"+", b" "))):
        return "query parameters must be UTF-8 without NUL characters"
    return None


def _is_plain_ascii(data: bytes) -> bool:
    """ASCII whose escapes can only decode to ASCII other than NUL (`%21`, `%3A`: the usual
    room and user IDs), so it is UTF-8 text without NUL as it stands."""
    return data.isascii() and b"\x00" not in data and _RISKY_ESCAPE.search(data) is None


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in data
