"""Typing notifications, read receipts and read markers."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_body, decode_object, decode_optional_object
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import empty
from bastion.errors import Errcode, MatrixError
from bastion.events.typed_json import NonNegativeInt
from bastion.services.ephemeral.typing import DEFAULT_TYPING_TIMEOUT_MS


class TypingBody(msgspec.Struct, frozen=True):
    """Body of `PUT /rooms/{roomId}/typing/{userId}`."""

    typing: bool
    timeout: NonNegativeInt = DEFAULT_TYPING_TIMEOUT_MS


async def set_typing(request: Request) -> Response:
    """PUT /_matrix/client/v3/rooms/{roomId}/typing/{userId}"""
    requester = await require_requester(request)
    body = await decode_body(request, TypingBody)
    p = request.path_params
    await services_of(request).typing.set_typing(
        requester, p["roomId"], p["userId"], typing=body.typing, timeout_ms=body.timeout
    )
    return empty()


async def send_receipt(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/receipt/{receiptType}/{eventId}"""
    requester = await require_requester(request)
    body = await decode_optional_object(request)
    thread_id = body.get("thread_id")
    if thread_id is not None and not isinstance(thread_id, str):
        raise MatrixError(400, Errcode.BAD_JSON, "thread_id must be a string")
    p = request.path_params
    await services_of(request).receipts.send_receipt(
        requester, p["roomId"], p["receiptType"], p["eventId"], thread_id
    )
    return empty()


async def set_read_markers(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/read_markers"""
    requester = await require_requester(request)
    body = await decode_object(request)
    await services_of(request).receipts.set_read_markers(
        requester, request.path_params["roomId"], body
    )
    return empty()


ROUTES = [
    Route("/rooms/{roomId}/typing/{userId}", set_typing, methods=["PUT"]),
    Route("/rooms/{roomId}/receipt/{receiptType}/{eventId}", send_receipt, methods=["POST"]),
    Route("/rooms/{roomId}/read_markers", set_read_markers, methods=["POST"]),
]
