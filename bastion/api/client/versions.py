"""Discovery: spec versions, .well-known, capabilities."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse

SUPPORTED_VERSIONS = [f"v1.{minor}" for minor in range(1, 13)]
DEFAULT_ROOM_VERSION = "12"
ROOM_VERSIONS = {"10": "stable", "11": "stable", "12": "stable"}


async def versions(_request: Request) -> Response:
    """GET /_matrix/client/versions"""
    return JsonResponse({"versions": SUPPORTED_VERSIONS, "unstable_features": {}})


async def well_known_client(request: Request) -> Response:
    """GET /.well-known/matrix/client"""
    base_url = services_of(request).info.public_baseurl.rstrip("/")
    return JsonResponse({"m.homeserver": {"base_url": base_url}})


async def capabilities(request: Request) -> Response:
    """GET /_matrix/client/v3/capabilities"""
    await require_requester(request)
    return JsonResponse(
        {
            "capabilities": {
                "m.change_password": {"enabled": True},
                "m.room_versions": {"default": DEFAULT_ROOM_VERSION, "available": ROOM_VERSIONS},
                "m.set_displayname": {"enabled": True},
                "m.set_avatar_url": {"enabled": True},
                "m.3pid_changes": {"enabled": False},
                "m.get_login_token": {"enabled": False},
            }
        }
    )


UNVERSIONED_ROUTES = [
    Route("/_matrix/client/versions", versions, methods=["GET"]),
    Route("/.well-known/matrix/client", well_known_client, methods=["GET"]),
]
ROUTES = [Route("/capabilities", capabilities, methods=["GET"])]
