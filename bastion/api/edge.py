"""The HTTP edge: what every request passes through before and after routing.

One ASGI middleware, with one send wrapper, applies all of it (four stacked middlewares cost a
wrapper, a closure and a frame each per message). In order, for every HTTP request:

- Request ID (request_id.py): current for the whole request, so every log line carries it,
  and in the response's `X-Request-ID`.
- Client address (client_address.py, honouring trusted proxies) into the scope, and the
  request record the access log line is written from after the response (access_log.py).
- Metrics (http_metrics.py): a count and a latency by method, route template and status class,
  after the response; 500 when the app failed before responding.
- CORS: the spec asks every response to allow any origin, so browser clients (Element Web) work;
  an `OPTIONS` preflight is answered here without reaching a route.
- Body size: a declared `Content-Length` over the limit is refused before reading; a chunked body
  is counted as it streams and refused once it passes the limit. Both give 413 M_TOO_LARGE. The
  limit is the JSON one except under the path prefixes given their own (media uploads).
- Text only: a path or query string that, percent-decoded, holds a NUL or is not UTF-8 (a lone
  surrogate, say) is 400 M_INVALID_PARAM before routing, so no handler sees such a parameter
  (PostgreSQL refuses NUL in text; SQLite cannot encode a lone surrogate). Under `pages`
  prefixes (the console) the app refuses it itself, with a page a person can read.
- Last line of defence: an exception nobody handled is logged with its traceback and the client
  gets a plain 500 M_UNKNOWN body, never the traceback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import msgspec
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.api.access_log import AccessLog, RequestRecord, close_record, open_record
from bastion.api.client_address import SCOPE_KEY, ClientAddressResolver
from bastion.api.http_metrics import RequestMetrics
from bastion.api.request_id import HEADER as REQUEST_ID_HEADER
from bastion.api.request_id import incoming_request_id, without_request_id
from bastion.errors import Errcode, MatrixError
from bastion.observability.request_id import accepted_request_id, enter_request, leave_request
from bastion.request_text import unusable_text

log = logging.getLogger(__name__)

# spec v1.13 (client-server-api#web-browser-clients): servers with methods beyond the
# recommended five "should add those methods as well": SCIM's PATCH, and HEAD (Starlette
# answers it on every GET route).
CORS_HEADERS: list[tuple[bytes, bytes]] = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"),
    (b"access-control-allow-headers", b"X-Requested-With, Content-Type, Authorization"),
]


class HttpEdge:
    """The one ASGI middleware around the app (see the module docstring for what it applies)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        body_limits: Mapping[str, int] | None = None,
        resolver: ClientAddressResolver | None = None,
        access_log: bool = True,
        pages: tuple[str, ...] = (),
    ) -> None:
        """`body_limits` maps a path prefix to its own limit (a whole segment: `/a` not `/ab`);
        `resolver` finds the client address (no trusted proxy when None); `access_log` turns
        the access log line on; under the `pages` prefixes the app answers unusable text
        itself (bastion/request_text.py)."""
        self._app = app
        self._max_body_bytes = max_body_bytes
        self._body_limits = dict(body_limits or {})
        self._resolver = resolver or ClientAddressResolver()
        self._access_log = AccessLog(enabled=access_log)
        self._metrics = RequestMetrics()
        self._pages = pages

    def _is_page(self, path: str) -> bool:
        return any(path == prefix or path.startswith(prefix + "/") for prefix in self._pages)

    def _limit_for(self, path: str) -> int:
        for prefix, limit in self._body_limits.items():
            if path == prefix or path.startswith(prefix + "/"):
                return limit
        return self._max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        request_id = accepted_request_id(incoming_request_id(scope))
        id_header = (REQUEST_ID_HEADER, request_id.encode("ascii"))
        client = self._resolver.resolve_scope(scope)
        scope[SCOPE_KEY] = client
        record = RequestRecord()

        # The one send wrapper: notes the status, adds CORS and the request ID.
        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                headers = without_request_id(message.get("headers", ()))
                message["headers"] = [*headers, *CORS_HEADERS, id_header]
            await send(message)

        id_token = enter_request(request_id)
        record_token = open_record(record)
        started = time.perf_counter()
        try:
            await self._answer(scope, receive, send_wrapped, record)
        finally:
            close_record(record_token)
            elapsed = time.perf_counter() - started
            self._access_log.write(client, scope, record, elapsed)
            # 500: what the client sees when the app failed before responding.
            self._metrics.observe(scope, record.status or 500, elapsed)
            leave_request(id_token)

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, record: RequestRecord
    ) -> None:
        if scope["method"] == "OPTIONS":
            await _send_json(send, 200, {})
            return
        if (problem := unusable_text(scope)) is not None and not self._is_page(scope["path"]):
            error = MatrixError(400, Errcode.INVALID_PARAM, problem)
            await _send_json(send, 400, _error_body(scope, error))
            return
        limit = self._limit_for(scope["path"])
        if _declared_length(scope) > limit:
            await _send_json(send, 413, _error_body(scope, _too_large(limit)))
            return
        try:
            await self._app(scope, _limited(receive, limit), send)
        except Exception:
            # Starlette's error handler has already logged and answered when a response
            # started; it re-raises so servers can see the error, and it must stop here.
            if record.status is None:
                log.exception("unhandled error serving %s %s", scope["method"], scope["path"])
                body = {"errcode": str(Errcode.UNKNOWN), "error": "Internal server error"}
                await _send_json(send, 500, body)


def _error_body(scope: Scope, error: MatrixError) -> Mapping[str, object]:
    """The error in the shape the path's clients read: RFC 7644 §3.12 under `/scim/` (an
    identity provider reads `status` and `detail`), the Matrix error body elsewhere."""
    if str(scope["path"]).startswith("/scim/"):
        body: dict[str, object] = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": str(error.status),
            "detail": error.message,
        }
        if error.status == 400:
            body["scimType"] = "invalidValue"
        return body
    return error.body()


def _limited(receive: Receive, limit: int) -> Receive:
    """Wrap `receive` so a streamed body is refused once it passes `limit`."""
    received = 0

    async def receive_limited() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _too_large(limit)
        return message

    return receive_limited


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def _too_large(limit: int) -> MatrixError:
    return MatrixError(413, Errcode.TOO_LARGE, f"request body is larger than {limit} bytes")


async def _send_json(send: Send, status: int, body: Mapping[str, object]) -> None:
    """Answer with `body`; `send` is the edge's, which adds CORS and the request ID."""
    payload = msgspec.json.encode(body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
