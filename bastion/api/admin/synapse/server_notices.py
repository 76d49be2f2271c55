"""`POST /_synapse/admin/v1/send_server_notice` (and `PUT .../send_server_notice/{txnId}`, the
idempotent form): a notice to one local user, into their server notices room
(services/notices.py), with Synapse's body (`user_id`, `content`, optional `type`, `state_key`)
and answer (`event_id`)."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin
from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse


class ServerNoticeBody(msgspec.Struct, frozen=True):
    """Body of `send_server_notice`; unknown fields are ignored."""

    user_id: str
    content: dict[str, Any]
    type: str = "m.room.message"
    state_key: str | None = None


async def send_server_notice(request: Request) -> Response:
    """POST /_synapse/admin/v1/send_server_notice
    PUT /_synapse/admin/v1/send_server_notice/{txnId}"""
    admin = await require_admin(request)
    body = await decode_body(request, ServerNoticeBody)
    event_id = await services_of(request).notices.send(
        admin,
        body.user_id,
        body.content,
        event_type=body.type,
        state_key=body.state_key,
        txn_id=request.path_params.get("txnId"),
    )
    return JsonResponse({"event_id": event_id})


ROUTES = [
    Route("/v1/send_server_notice", send_server_notice, methods=["POST"]),
    Route("/v1/send_server_notice/{txnId}", send_server_notice, methods=["PUT"]),
]
