"""Self-registration (disabled unless configured) and username availability."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.requester import client_ip
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError
from bastion.services.registration import RegisterRequest


async def register(request: Request) -> Response:
    """POST /_matrix/client/v3/register"""
    services = services_of(request)
    body = await decode_body(request, RegisterRequest)
    kind = request.query_params.get("kind", "user")
    registered = await services.registration.register(body, kind=kind, ip=client_ip(request))
    response: dict[str, object] = {
        "user_id": registered.user_id,
        "home_server": services.info.server_name,
    }
    if registered.session is not None:
        response["access_token"] = registered.session.access_token
        response["device_id"] = registered.session.device_id
    return JsonResponse(response)


async def username_available(request: Request) -> Response:
    """GET /_matrix/client/v3/register/available"""
    username = request.query_params.get("username")
    if not username:
        raise MatrixError(400, Errcode.MISSING_PARAM, "username is required")
    await services_of(request).registration.check_available(username)
    return JsonResponse({"available": True})


async def registration_token_validity(request: Request) -> Response:
    """GET /_matrix/client/v1/register/m.login.registration_token/validity"""
    token = request.query_params.get("token")
    if token is None:
        raise MatrixError(400, Errcode.MISSING_PARAM, "token is required")
    valid = await services_of(request).registration.is_token_valid(token)
    return JsonResponse({"valid": valid})


ROUTES = [
    Route("/register", register, methods=["POST"]),
    Route("/register/available", username_available, methods=["GET"]),
]
V1_ROUTES = [
    Route(
        "/register/m.login.registration_token/validity",
        registration_token_validity,
        methods=["GET"],
    ),
]
