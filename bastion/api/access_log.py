"""The HTTP access log, and the per-request facts it needs: client address and user.

`AccessLog` is the outermost ASGI middleware. For every HTTP request it resolves the client
address once (`client_address.py`, honouring trusted proxies) and stores it in the scope for
rate limits and device records, opens a `RequestRecord` in a context variable, and, when the log
is on, writes one INFO line to the `bastion.access` logger after the response:

    203.0.113.7 "GET /_matrix/client/v3/sync?timeout=30000" 200 12.4ms @alice:example.org

Invariants: an access token is never written. Headers are not logged at all (so neither is
`Authorization`), and the values of secret query parameters (`access_token`, a registration
`token`, `loginToken`) are replaced by `<redacted>` before the line is built. The user is the
one `require_requester` authenticated, noted through `note_user` (a mutable record, so a
handler running in a copied context still reaches it); `-` when the request was not
authenticated.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.api.client_address import SCOPE_KEY, ClientAddressResolver

access_log = logging.getLogger("bastion.access")

# Query parameters that carry secrets: access tokens, registration tokens (…/validity?token=)
# and login tokens.
SECRET_PARAMS = frozenset({"access_token", "token", "loginToken"})
REDACTED = "<redacted>"


@dataclass(slots=True)
class RequestRecord:
    """What the access log learns while a request is served."""

    user_id: str | None = None
    status: int | None = None


_current: ContextVar[RequestRecord | None] = ContextVar("bastion_request", default=None)


def note_user(user_id: str) -> None:
    """Record who the current request is authenticated as (called by `require_requester`)."""
    record = _current.get()
    if record is not None:
        record.user_id = user_id


def loggable_target(path: str, query_string: bytes) -> str:
    """The request target as logged: the path and query, with secret parameters redacted."""
    if not query_string:
        return path
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    if not any(name in SECRET_PARAMS for name, _ in pairs):
        return f"{path}?{query_string.decode('latin-1')}"
    safe = [(name, REDACTED if name in SECRET_PARAMS else value) for name, value in pairs]
    return f"{path}?{urlencode(safe, safe='<>')}"


class AccessLog:
    """ASGI middleware: client address into the scope, then one log line per request."""

    def __init__(self, app: ASGIApp, resolver: ClientAddressResolver, *, enabled: bool) -> None:
        self._app = app
        self._resolver = resolver
        self._enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        client = self._resolver.resolve_scope(scope)
        scope[SCOPE_KEY] = client
        record = RequestRecord()
        reset = _current.set(record)
        started = time.perf_counter()

        async def send_noting_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, send_noting_status)
        finally:
            _current.reset(reset)
            if self._enabled and access_log.isEnabledFor(logging.INFO):
                elapsed_ms = (time.perf_counter() - started) * 1000
                access_log.info(
                    '%s "%s %s" %s %.1fms %s',
                    client,
                    scope["method"],
                    loggable_target(scope["path"], scope.get("query_string", b"")),
                    record.status if record.status is not None else "-",
                    elapsed_ms,
                    record.user_id or "-",
                )
