"""`GET /_synapse/admin/v1/server_version`: public, as in Synapse (the web UIs call it before
login to tell which server they talk to)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.responses import JsonResponse


def _version() -> str:
    try:
        return f"Bastion {version('bastion')}"
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "Bastion"


async def server_version(_request: Request) -> Response:
    """GET /_synapse/admin/v1/server_version"""
    return JsonResponse({"server_version": _version()})


ROUTES = [Route("/v1/server_version", server_version, methods=["GET"])]
