"""Login and logout, `/login/get_token` (a signed-in device's login token for a new one,
services/login_token_request.py), and `/refresh`: Bastion issues no refresh tokens (its access
tokens do not expire; a `refresh_token: true` login gets none, as the spec allows), so every
refresh token is unknown: 401 M_UNKNOWN_TOKEN, the spec's answer, which tells the client to log
in again."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.requester import access_token_of, client_ip, require_requester
from bastion.api.responses import JsonResponse, empty
from bastion.errors import Errcode, MatrixError
from bastion.services.appservices.identity import LOGIN_TYPE as APPSERVICE_LOGIN
from bastion.services.credentials import resolve_user_id
from bastion.services.login import LoginRequest


async def login_flows(request: Request) -> Response:
    """GET /_matrix/client/v3/login"""
    services = services_of(request)
    flows = services.get_login_token.login_flows(services.login.flows() + services.sso.flows())
    if services.appservices.registry.all:
        flows.append({"type": APPSERVICE_LOGIN})
    return JsonResponse({"flows": flows})


async def login(request: Request) -> Response:
    """POST /_matrix/client/v3/login"""
    services = services_of(request)
    body = await decode_body(request, LoginRequest)
    if body.type == APPSERVICE_LOGIN:
        registration = services.appservices.from_token(access_token_of(request))
        user_id = resolve_user_id(body.identifier, body.user, services.info.server_name)
        device = (body.device_id, body.initial_device_display_name)
        session = await services.appservices.identities.login(registration, user_id, device)
    else:
        session = await services.login.login(body, client_ip(request))
    return JsonResponse(
        {
            "user_id": session.user_id,
            "access_token": session.access_token,
            "device_id": session.device_id,
            "home_server": services.info.server_name,
            "well_known": {"m.homeserver": {"base_url": services.info.public_baseurl}},
        }
    )


class LoginTokenRequest(msgspec.Struct, frozen=True):
    """Body of `POST /login/get_token`."""

    auth: dict[str, Any] | None = None


async def get_login_token(request: Request) -> Response:
    """POST /_matrix/client/v1/login/get_token"""
    services = services_of(request)
    requester = await require_requester(request)
    body = await decode_body(request, LoginTokenRequest)
    return JsonResponse(await services.get_login_token.issue(requester, body.auth))


async def logout(request: Request) -> Response:
    """POST /_matrix/client/v3/logout"""
    requester = await require_requester(request, allow_locked=True)
    await services_of(request).auth.logout(requester)
    return empty()


async def logout_all(request: Request) -> Response:
    """POST /_matrix/client/v3/logout/all"""
    requester = await require_requester(request, allow_locked=True)
    await services_of(request).auth.logout_all(requester)
    return empty()


async def refresh(_request: Request) -> Response:
    """POST /_matrix/client/v3/refresh"""
    raise MatrixError(401, Errcode.UNKNOWN_TOKEN, "Unknown refresh token", {"soft_logout": False})


ROUTES = [
    Route("/login", login_flows, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/logout/all", logout_all, methods=["POST"]),
    Route("/refresh", refresh, methods=["POST"]),
]
V1_ROUTES = [Route("/login/get_token", get_login_token, methods=["POST"])]
