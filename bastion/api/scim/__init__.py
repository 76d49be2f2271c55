"""SCIM 2.0 (RFC 7643/7644) under `/scim/v2`: discovery, Users and Groups.

Every route authenticates with a SCIM bearer token (`bastion scim-token create`) and acts as
that `ScimClient`; every answer is `application/scim+json`, failures in RFC 7644 §3.12's shape
(responses.py). The work is in services/scim/.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bastion.api.scim import discovery, resources
from bastion.api.scim.responses import PREFIX, error_response

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


async def _unknown(request: Request) -> Response:
    """Anything else under /scim/v2: a SCIM 404 (405 for a known path), never a Matrix error."""
    path = request.url.path
    for route in [*discovery.ROUTES, *resources.ROUTES]:
        if route.path_regex.match(path.removeprefix(PREFIX)):
            return error_response(405, f"{request.method} is not allowed on {path}")
    return error_response(404, f"no SCIM endpoint {path}")


def scim_routes() -> list[BaseRoute]:
    """Every SCIM route under `/scim/v2`, then the SCIM 404 for the rest."""
    return [
        *(
            Route(PREFIX + route.path, route.endpoint, methods=sorted(route.methods or ()))
            for route in [*discovery.ROUTES, *resources.ROUTES]
        ),
        Route(PREFIX + "/{rest:path}", _unknown, methods=_METHODS),
        Route(PREFIX, _unknown, methods=_METHODS),
    ]
