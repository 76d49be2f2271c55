"""Synapse's registration tokens Admin API (`/_synapse/admin/v1/registration_tokens`), with its
field names: `token`, `uses_allowed`, `pending`, `completed`, `expiry_time`.

`pending` is always 0: a use is counted in the transaction that creates the account, so no use
is ever half-way (Synapse counts the UIA sessions in progress there).
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin
from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse, empty
from bastion.errors import Errcode, MatrixError
from bastion.services.registration import RegistrationTokenRecord, TokenChanges


class NewToken(msgspec.Struct, frozen=True):
    """Body of `POST /v1/registration_tokens/new`; unknown fields are ignored."""

    token: str | None = None
    uses_allowed: int | None = None
    expiry_time: int | None = None
    length: int = 16


def token_json(record: RegistrationTokenRecord) -> dict[str, Any]:
    """A token as Synapse shows it."""
    return {
        "token": record.token,
        "uses_allowed": record.uses_allowed,
        "pending": 0,
        "completed": record.completed,
        "expiry_time": record.expiry_ts,
    }


def _valid_param(request: Request) -> bool | None:
    raw = request.query_params.get("valid")
    if raw is None or raw == "":
        return None
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise MatrixError(400, Errcode.INVALID_PARAM, "Query parameter 'valid' must be true or false")


async def list_tokens(request: Request) -> Response:
    """GET /_synapse/admin/v1/registration_tokens?valid=true|false"""
    admin = await require_admin(request)
    records = await services_of(request).registration.list_tokens(
        admin, valid=_valid_param(request)
    )
    return JsonResponse({"registration_tokens": [token_json(r) for r in records]})


async def new_token(request: Request) -> Response:
    """POST /_synapse/admin/v1/registration_tokens/new"""
    admin = await require_admin(request)
    body = await decode_body(request, NewToken)
    registration = services_of(request).registration
    token = await registration.create_token(
        admin,
        uses_allowed=body.uses_allowed,
        expiry_ts=body.expiry_time,
        token=body.token,
        length=body.length,
    )
    return JsonResponse(token_json(await registration.get_token(admin, token)))


async def get_token(request: Request) -> Response:
    """GET /_synapse/admin/v1/registration_tokens/{token}"""
    admin = await require_admin(request)
    token = request.path_params["token"]
    return JsonResponse(token_json(await services_of(request).registration.get_token(admin, token)))


async def update_token(request: Request) -> Response:
    """PUT /_synapse/admin/v1/registration_tokens/{token}"""
    admin = await require_admin(request)
    changes = await decode_body(request, TokenChanges)
    registration = services_of(request).registration
    record = await registration.update_token(admin, request.path_params["token"], changes)
    return JsonResponse(token_json(record))


async def delete_token(request: Request) -> Response:
    """DELETE /_synapse/admin/v1/registration_tokens/{token}"""
    admin = await require_admin(request)
    await services_of(request).registration.delete_token(admin, request.path_params["token"])
    return empty()


ROUTES = [
    Route("/v1/registration_tokens", list_tokens, methods=["GET"]),
    Route("/v1/registration_tokens/new", new_token, methods=["POST"]),
    Route("/v1/registration_tokens/{token}", get_token, methods=["GET"]),
    Route("/v1/registration_tokens/{token}", update_token, methods=["PUT"]),
    Route("/v1/registration_tokens/{token}", delete_token, methods=["DELETE"]),
]
