"""Encryption keys, cross-signing and to-device messages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_object
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse, empty
from bastion.errors import Errcode, MatrixError
from bastion.services.stream_token import parse_token


async def upload_keys(request: Request) -> Response:
    """POST /_matrix/client/v3/keys/upload"""
    requester = await require_requester(request)
    counts = await services_of(request).keys.upload(requester, await decode_object(request))
    return JsonResponse({"one_time_key_counts": counts})


async def query_keys(request: Request) -> Response:
    """POST /_matrix/client/v3/keys/query"""
    requester = await require_requester(request)
    return JsonResponse(
        await services_of(request).keys.query(requester, await decode_object(request))
    )


async def claim_keys(request: Request) -> Response:
    """POST /_matrix/client/v3/keys/claim"""
    requester = await require_requester(request)
    return JsonResponse(
        await services_of(request).keys.claim(requester, await decode_object(request))
    )


async def key_changes(request: Request) -> Response:
    """GET /_matrix/client/v3/keys/changes"""
    requester = await require_requester(request)
    raw_from, raw_to = request.query_params.get("from"), request.query_params.get("to")
    if raw_from is None or raw_to is None:
        raise MatrixError(400, Errcode.MISSING_PARAM, "from and to are required")
    device_lists = services_of(request).device_lists
    changed, left = await device_lists.changes(
        requester.user_id,
        after=parse_token(raw_from, name="from"),
        upto=parse_token(raw_to, name="to"),
    )
    return JsonResponse({"changed": changed, "left": left})


async def upload_cross_signing_keys(request: Request) -> Response:
    """POST /_matrix/client/v3/keys/device_signing/upload"""
    requester = await require_requester(request)
    await services_of(request).cross_signing.upload_keys(requester, await decode_object(request))
    return empty()


async def upload_signatures(request: Request) -> Response:
    """POST /_matrix/client/v3/keys/signatures/upload"""
    requester = await require_requester(request)
    cross_signing = services_of(request).cross_signing
    return JsonResponse(
        await cross_signing.upload_signatures(requester, await decode_object(request))
    )


async def send_to_device(request: Request) -> Response:
    """PUT /_matrix/client/v3/sendToDevice/{eventType}/{txnId}"""
    requester = await require_requester(request)
    body = await decode_object(request)
    p = request.path_params
    await services_of(request).to_device.send(
        requester, p["eventType"], p["txnId"], body.get("messages")
    )
    return empty()


ROUTES = [
    Route("/keys/upload", upload_keys, methods=["POST"]),
    Route("/keys/query", query_keys, methods=["POST"]),
    Route("/keys/claim", claim_keys, methods=["POST"]),
    Route("/keys/changes", key_changes, methods=["GET"]),
    Route("/keys/device_signing/upload", upload_cross_signing_keys, methods=["POST"]),
    Route("/keys/signatures/upload", upload_signatures, methods=["POST"]),
    Route("/sendToDevice/{eventType}/{txnId}", send_to_device, methods=["PUT"]),
]
