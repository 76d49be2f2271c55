"""Synapse's shared-secret registration: `GET /_synapse/admin/v1/register` hands out a one-time
nonce, `POST` with the nonce, the account's fields and an HMAC of them under the configured
secret creates the account and answers its first session, as Synapse does (`access_token`,
`user_id`, `home_server`, `device_id`). No admin token: the secret is the credential
(services/shared_secret_registration.py); off unless `registration.shared_secret` is set.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.context import services_of
from bastion.api.requester import client_ip
from bastion.api.responses import JsonResponse
from bastion.events.typed_json import decode_as
from bastion.services.shared_secret_registration import SharedSecretRequest


async def nonce(request: Request) -> Response:
    """GET /_synapse/admin/v1/register"""
    issued = await services_of(request).shared_secret.new_nonce(client_ip(request))
    return JsonResponse({"nonce": issued})


async def register(request: Request) -> Response:
    """POST /_synapse/admin/v1/register"""
    services = services_of(request)
    body = decode_as(await request.body(), SharedSecretRequest, what="request body")
    session = await services.shared_secret.register(body, client_ip(request))
    return JsonResponse(
        {
            "access_token": session.access_token,
            "user_id": session.user_id,
            "home_server": services.info.server_name,
            "device_id": session.device_id,
        }
    )


ROUTES = [
    Route("/v1/register", nonce, methods=["GET"]),
    Route("/v1/register", register, methods=["POST"]),
]
