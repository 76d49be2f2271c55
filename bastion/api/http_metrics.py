"""HTTP request metrics: a count and a latency per route template (observability/metrics.py).

The route is the template the router matched (`/_matrix/client/v3/rooms/{roomId}/state`), read
from the scope after the app has run: the router records the route it picked there, and a
mounted app (the console) adds its own below its mount path. A request no route matched is
`unmatched`, so a scan of random paths adds no series.
"""

from __future__ import annotations

import time

from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.observability.metrics import method_label, metrics, status_class

UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    """The template of the route that served `scope`, or `unmatched`."""
    route = scope.get("route")
    path = getattr(route, "path", None) if isinstance(route, BaseRoute) else None
    if not isinstance(path, str) or isinstance(route, Mount):  # a Mount: nothing matched in it
        return UNMATCHED
    return f"{scope.get('root_path', '')}{path}"


class HttpMetrics:
    """ASGI middleware: counts each HTTP request and times it, by method and route."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        status = 500  # what the client sees when the app fails before responding
        started = time.perf_counter()

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, send_noting_status)
        finally:
            elapsed = time.perf_counter() - started
            method, route = method_label(scope["method"]), route_template(scope)
            found = metrics()
            found.http_requests.labels(method, route, status_class(status)).inc()
            found.http_latency.labels(method, route).observe(elapsed)
