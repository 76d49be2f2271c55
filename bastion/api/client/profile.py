"""Profiles: display name and avatar URL."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse, empty


class DisplaynameBody(msgspec.Struct, frozen=True):
    """Body of `PUT /profile/{userId}/displayname`."""

    displayname: str | None = None


class AvatarUrlBody(msgspec.Struct, frozen=True):
    """Body of `PUT /profile/{userId}/avatar_url`."""

    avatar_url: str | None = None


async def _profile_fields(request: Request) -> dict[str, str]:
    services = services_of(request)
    if services.info.require_auth_for_profile:
        await require_requester(request)
    profile = await services.profile.get_profile(request.path_params["userId"])
    fields = {"displayname": profile.displayname, "avatar_url": profile.avatar_url}
    return {name: value for name, value in fields.items() if value is not None}


async def get_profile(request: Request) -> Response:
    """GET /_matrix/client/v3/profile/{userId}"""
    return JsonResponse(await _profile_fields(request))


async def get_displayname(request: Request) -> Response:
    """GET /_matrix/client/v3/profile/{userId}/displayname"""
    fields = await _profile_fields(request)
    return JsonResponse({k: v for k, v in fields.items() if k == "displayname"})


async def get_avatar_url(request: Request) -> Response:
    """GET /_matrix/client/v3/profile/{userId}/avatar_url"""
    fields = await _profile_fields(request)
    return JsonResponse({k: v for k, v in fields.items() if k == "avatar_url"})


async def set_displayname(request: Request) -> Response:
    """PUT /_matrix/client/v3/profile/{userId}/displayname"""
    requester = await require_requester(request)
    body = await decode_body(request, DisplaynameBody)
    user_id = request.path_params["userId"]
    await services_of(request).profile.set_displayname(requester, user_id, body.displayname)
    return empty()


async def set_avatar_url(request: Request) -> Response:
    """PUT /_matrix/client/v3/profile/{userId}/avatar_url"""
    requester = await require_requester(request)
    body = await decode_body(request, AvatarUrlBody)
    user_id = request.path_params["userId"]
    await services_of(request).profile.set_avatar_url(requester, user_id, body.avatar_url)
    return empty()


# Specific routes first: `{userId:path}` would otherwise swallow the "/displayname" suffix.
ROUTES = [
    Route("/profile/{userId:path}/displayname", get_displayname, methods=["GET"]),
    Route("/profile/{userId:path}/displayname", set_displayname, methods=["PUT"]),
    Route("/profile/{userId:path}/avatar_url", get_avatar_url, methods=["GET"]),
    Route("/profile/{userId:path}/avatar_url", set_avatar_url, methods=["PUT"]),
    Route("/profile/{userId:path}", get_profile, methods=["GET"]),
]
