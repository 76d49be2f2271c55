"""Synapse's `POST /_synapse/admin/v1/deactivate/{userId}` (body `{"erase": bool}`), answered
as Synapse does with `{"id_server_unbind_result": "success"}`: it runs the offboarding workflow
(we bind no identity servers, so there is nothing to unbind)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin
from bastion.api.bodies import decode_optional_object
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError


async def deactivate(request: Request) -> Response:
    """POST /_synapse/admin/v1/deactivate/{userId}"""
    admin = await require_admin(request)
    body = await decode_optional_object(request)  # unknown fields are ignored, as in Synapse
    erase = body.get("erase", False)
    if not isinstance(erase, bool):
        raise MatrixError(400, Errcode.BAD_JSON, "erase must be a boolean")
    await services_of(request).offboarding.offboard(
        admin, request.path_params["userId"], erase=erase
    )
    return JsonResponse({"id_server_unbind_result": "success"})


ROUTES = [Route("/v1/deactivate/{userId}", deactivate, methods=["POST"])]
