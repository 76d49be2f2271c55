"""Route matching through the literal-prefix index (api/route_index.py).

Client-server API, M_UNRECOGNIZED: "This is expected to be returned with a 404 HTTP status code
if the endpoint is not implemented or a 405 HTTP status code if the endpoint is implemented, but
the incorrect HTTP method is used." The index must pick exactly the route (or the
method-mismatch route, the 405) Starlette's full scan picks, for every route the server has, and
try only a few routes for a hot request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Match, Mount

from bastion.api.health import ROUTES as HEALTH_ROUTES
from bastion.api.route_index import IndexedRouter
from bastion.api.routes import build_routes

METHODS = ("GET", "PUT", "POST", "DELETE", "BREW")


def _all_routes() -> list[BaseRoute]:
    console = Mount("/console", app=PlainTextResponse("console"))  # as app/asgi.py mounts it
    return [console, *HEALTH_ROUTES, *build_routes()]


def _pick(routes: Sequence[BaseRoute], path: str, method: str) -> BaseRoute | None:
    """What Starlette's router serves: the first full match, else the first partial one."""
    scope = {"type": "http", "path": path, "root_path": "", "method": method, "headers": []}
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial


def _concrete(template: str) -> str:
    path = re.sub(r"\{[^}:]+:path\}", "a/b", template)
    return re.sub(r"\{[^}]+\}", "x1", path)


def _paths(router: IndexedRouter) -> list[str]:
    paths = ["/", "/random/1", "/_matrix", "/_matrix/client/v3/", "/console/x", "/health/"]
    for route in router.routes:
        path = _concrete(getattr(route, "path", "/"))
        paths += [path, path + "/", path + "/extra", path.rstrip("/") + "x"]
    return paths


@pytest.fixture(scope="module")
def router() -> IndexedRouter:
    return IndexedRouter(_all_routes())


def test_index_picks_what_the_full_scan_picks(router: IndexedRouter) -> None:
    """Every route, and near misses of each, for every method: the same pick as the full scan."""
    for path in _paths(router):
        for method in METHODS:
            expected = _pick(router.routes, path, method)
            assert _pick(router.candidates(path), path, method) is expected, (path, method)


def test_a_hot_request_tries_few_routes(router: IndexedRouter) -> None:
    """whoami (late in the table) is found among a handful of candidates, not ~350 routes."""
    path = "/_matrix/client/v3/account/whoami"
    candidates = router.candidates(path)
    assert _pick(candidates, path, "GET") is not None
    assert len(candidates) <= 20 < len(router.routes) // 10
