"""Self-registration (disabled unless configured), an application service registering its
users (`m.login.application_service`, whatever the mode), and username availability."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.requester import access_token_of, client_ip
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError
from bastion.services.appservices.identity import LOGIN_TYPE as APPSERVICE_LOGIN
from bastion.services.registration import RegisterRequest


async def register(request: Request) -> Response:
    """POST /_matrix/client/v3/register"""
    services = services_of(request)
    body = await decode_body(request, RegisterRequest)
    if body.type == APPSERVICE_LOGIN:  # an application service's user (no UIA, no password)
        registration = services.appservices.from_token(access_token_of(request))
        user_id, session = await services.appservices.identities.register(
            registration, body.username, inhibit_login=body.inhibit_login,
            device=(body.device_id, body.initial_device_display_name),
        )  # fmt: skip
    else:
        kind = request.query_params.get("kind", "user")
        registered = await services.registration.register(body, kind=kind, ip=client_ip(request))
        user_id, session = registered.user_id, registered.session
    response: dict[str, object] = {"user_id": user_id, "home_server": services.info.server_name}
    if session is not None:
        response["access_token"] = session.access_token
        response["device_id"] = session.device_id
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
