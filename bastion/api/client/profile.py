"""Profiles: `GET /profile/{userId}` and `GET`/`PUT`/`DELETE /profile/{userId}/{keyName}`
(any field since spec v1.16: the display name, the avatar, `m.tz` and custom namespaced keys;
services/profile.py and profile_fields.py hold the rules)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_object
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse, empty


async def _require_auth_if_configured(request: Request) -> None:
    if services_of(request).info.require_auth_for_profile:
        await require_requester(request)


async def get_profile(request: Request) -> Response:
    """GET /_matrix/client/v3/profile/{userId}"""
    await _require_auth_if_configured(request)
    profile = services_of(request).profile
    return JsonResponse(await profile.full_profile(request.path_params["userId"]))


async def get_field(request: Request) -> Response:
    """GET /_matrix/client/v3/profile/{userId}/{keyName}"""
    await _require_auth_if_configured(request)
    params = request.path_params
    profile = services_of(request).profile
    return JsonResponse(await profile.get_field(params["userId"], params["keyName"]))


async def set_field(request: Request) -> Response:
    """PUT /_matrix/client/v3/profile/{userId}/{keyName}"""
    requester = await require_requester(request)
    body = await decode_object(request)
    params = request.path_params
    profile = services_of(request).profile
    await profile.set_field(requester, params["userId"], params["keyName"], body)
    return empty()


async def delete_field(request: Request) -> Response:
    """DELETE /_matrix/client/v3/profile/{userId}/{keyName}"""
    requester = await require_requester(request)
    params = request.path_params
    await services_of(request).profile.delete_field(requester, params["userId"], params["keyName"])
    return empty()


# The field routes first: `{userId:path}` would otherwise swallow the "/{keyName}" suffix.
ROUTES = [
    Route("/profile/{userId:path}/{keyName}", get_field, methods=["GET"]),
    Route("/profile/{userId:path}/{keyName}", set_field, methods=["PUT"]),
    Route("/profile/{userId:path}/{keyName}", delete_field, methods=["DELETE"]),
    Route("/profile/{userId:path}", get_profile, methods=["GET"]),
]
