"""Synapse's Federation API (`/_synapse/admin/v1/federation/destinations...`), answered for a
server that never federates: Bastion keeps an organisation's messages on its own machines and
talks to no other homeserver, so there is no destination. The list is empty (its paging and
ordering parameters still checked, as Synapse checks them) and any one destination is unknown
(404 M_NOT_FOUND, Synapse's answer for a destination it never contacted), so the admin UIs'
federation pages show an empty table instead of an error.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import int_param, require_admin
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError

# Synapse's allow-list for the list's order_by.
ORDERS = frozenset({
    "destination", "retry_last_ts", "retry_interval", "failure_ts",
    "last_successful_stream_ordering",
})  # fmt: skip


async def destinations(request: Request) -> Response:
    """GET /_synapse/admin/v1/federation/destinations"""
    await require_admin(request)
    int_param(request, "from", 0)
    int_param(request, "limit", 100)
    order_by = request.query_params.get("order_by", "destination")
    if order_by not in ORDERS:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"Unknown value for order_by: {order_by!r}")
    if request.query_params.get("dir", "f") not in ("f", "b"):
        raise MatrixError(400, Errcode.INVALID_PARAM, "dir must be 'f' or 'b'")
    return JsonResponse({"destinations": [], "total": 0})


async def destination(request: Request) -> Response:
    """GET /_synapse/admin/v1/federation/destinations/{destination}[/rooms], and POST
    .../reset_connection: no destination is known (module docstring)."""
    await require_admin(request)
    raise MatrixError(404, Errcode.NOT_FOUND, "Unknown destination")


ROUTES = [
    Route("/v1/federation/destinations", destinations, methods=["GET"]),
    Route("/v1/federation/destinations/{destination}", destination, methods=["GET"]),
    Route("/v1/federation/destinations/{destination}/rooms", destination, methods=["GET"]),
    Route(
        "/v1/federation/destinations/{destination}/reset_connection", destination, methods=["POST"]
    ),
]
