"""HTTP request metrics: a count and a latency per route template (observability/metrics.py).

The route is the template the router matched (`/_matrix/client/v3/rooms/{roomId}/state`), read
from the scope after the app has run: the router records the route it picked there, and a
mounted app (the console) adds its own below its mount path. A request no route matched is
`unmatched`, so a scan of random paths adds no series.

`RequestMetrics.observe` is called by the HTTP edge (edge.py) once per request. It keeps the
labelled series it has used (one per method, route and status class: a bounded set), so a request
costs two increments, not two label look-ups; the cache belongs to the process's metrics object
and is dropped if that object is ever replaced.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram
from starlette.routing import BaseRoute, Mount
from starlette.types import Scope

from bastion.observability.metrics import BastionMetrics, method_label, metrics, status_class

UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    """The template of the route that served `scope`, or `unmatched`."""
    route = scope.get("route")
    path = getattr(route, "path", None) if isinstance(route, BaseRoute) else None
    if not isinstance(path, str) or isinstance(route, Mount):  # a Mount: nothing matched in it
        return UNMATCHED
    return f"{scope.get('root_path', '')}{path}"


class RequestMetrics:
    """Counts each HTTP request and times it, by method and route."""

    def __init__(self) -> None:
        self._owner: BastionMetrics | None = None
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, scope: Scope, status: int, elapsed_s: float) -> None:
        """Record one request of `scope`, answered with `status` after `elapsed_s` seconds."""
        found = metrics()
        if found is not self._owner:
            self._owner, self._series = found, {}
        # Only bounded values in the key: the method label, never the method a client sent.
        method, route = method_label(scope["method"]), route_template(scope)
        key = (method, route, status // 100)
        series = self._series.get(key)
        if series is None:
            series = (
                found.http_requests.labels(method, route, status_class(status)),
                found.http_latency.labels(method, route),
            )
            self._series[key] = series
        series[0].inc()
        series[1].observe(elapsed_s)
