"""Request IDs at the HTTP edge: the outermost middleware.

Every HTTP request gets an ID (an incoming `X-Request-ID` when it is sane, else a fresh one:
observability/request_id.py), current in a context variable for the whole request, so every log
line written while serving it (the access log's too) carries it, and echoed in the response's
`X-Request-ID` header, so a user's report and the server's logs can be matched.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.observability.request_id import accepted_request_id, enter_request, leave_request

HEADER = b"x-request-id"


def _incoming(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == HEADER:
            return str(value.decode("latin-1"))
    return None


class RequestIds:
    """ASGI middleware: a request ID per HTTP request, in the context and the response."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        request_id = accepted_request_id(_incoming(scope))
        header = (HEADER, request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", ()) if h[0].lower() != HEADER]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        token = enter_request(request_id)
        try:
            await self._app(scope, receive, send_with_id)
        finally:
            leave_request(token)
