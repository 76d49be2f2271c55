"""Request IDs at the HTTP edge (applied by edge.py's `HttpEdge`, for every HTTP request).

Every HTTP request gets an ID (an incoming `X-Request-ID` when it is sane, else a fresh one:
observability/request_id.py), current in a context variable for the whole request, so every log
line written while serving it (the access log's too) carries it, and echoed in the response's
`X-Request-ID` header, so a user's report and the server's logs can be matched. Any
`X-Request-ID` an app below set is replaced, so the response carries exactly one: ours.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import Scope

HEADER = b"x-request-id"


def incoming_request_id(scope: Scope) -> str | None:
    """The `X-Request-ID` the request came with, if any (not yet checked for sanity)."""
    for name, value in scope["headers"]:
        if name == HEADER:
            return str(value.decode("latin-1"))
    return None


def without_request_id(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` less any `X-Request-ID`."""
    return [header for header in headers if header[0].lower() != HEADER]
