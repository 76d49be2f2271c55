"""The HTTP access log, and the per-request facts it needs: client address and user.

For every HTTP request the HTTP edge (edge.py) resolves the client address once
(`client_address.py`, honouring trusted proxies) and stores it in the scope for rate limits and
device records, opens a `RequestRecord` in a context variable (`open_record`), and, when the log
is on, `AccessLog.write` writes one INFO line to the `bastion.access` logger after the response:

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
from contextvars import ContextVar, Token
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlencode

from starlette.types import Scope

access_log = logging.getLogger("bastion.access")

# Query parameters that carry secrets: access tokens, registration tokens (…/validity?token=)
# and login tokens.
SECRET_PARAMS = frozenset({"access_token", "token", "loginToken"})
REDACTED = "<redacted>"
_LINE = '%s "%s %s" %s %.1fms %s'


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
    query = query_string.decode("latin-1")
    if not any(_param_name(pair) in SECRET_PARAMS for pair in query.split("&")):
        return f"{path}?{query}"  # the usual case: only names decoded, values left alone
    pairs = parse_qsl(query, keep_blank_values=True)
    safe = [(name, REDACTED if name in SECRET_PARAMS else value) for name, value in pairs]
    return f"{path}?{urlencode(safe, safe='<>')}"


def _param_name(pair: str) -> str:
    """The decoded name of one `name=value` pair, as `parse_qsl` decodes it."""
    name = pair.partition("=")[0]
    if "%" in name or "+" in name:
        return unquote(name.replace("+", " "))
    return name


def open_record(record: RequestRecord) -> Token[RequestRecord | None]:
    """Make `record` the current request's; give the token to `close_record` at its end."""
    return _current.set(record)


def close_record(token: Token[RequestRecord | None]) -> None:
    """End the request `open_record` began."""
    _current.reset(token)


class AccessLog:
    """Writes the access log line of a request (the HTTP edge calls it once per request)."""

    def __init__(self, *, enabled: bool) -> None:
        self._enabled = enabled

    def write(self, client: str, scope: Scope, record: RequestRecord, elapsed_s: float) -> None:
        """The line for the request of `scope`, answered as `record` says."""
        if self._enabled and access_log.isEnabledFor(logging.INFO):
            args = (
                client,
                scope["method"],
                loggable_target(scope["path"], scope.get("query_string", b"")),
                record.status if record.status is not None else "-",
                elapsed_s * 1000,
                record.user_id or "-",
            )
            # `info` without its search of the stack for the caller: the line is always ours.
            line = access_log.makeRecord(
                access_log.name, logging.INFO, __file__, 0, _LINE, args, None
            )
            access_log.handle(line)
