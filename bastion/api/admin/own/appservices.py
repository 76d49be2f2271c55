"""The registered application services and how far their transactions are:
`GET /appservices` (docs/subsystems/appservices.md). Never their tokens."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin
from bastion.api.admin.own.openapi import errors, json_body
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.services.appservices.service import AppServiceStatus


def _described(status: AppServiceStatus) -> dict[str, Any]:
    r, stream = status.registration, status.stream
    return {
        "id": r.id,
        "url": r.url,
        "sender": r.sender,
        "namespaces": {
            kind: [{"regex": n.pattern.pattern, "exclusive": n.exclusive} for n in entries]
            for kind, entries in (("users", r.users), ("aliases", r.aliases), ("rooms", r.rooms))
        },
        "rate_limited": r.rate_limited,
        "protocols": list(r.protocols),
        "delivered_upto": None if stream is None else stream.done_upto,
        "next_txn_id": None if stream is None else stream.txn_id,
        "pending_events": 0 if stream is None else len(stream.pending_events or []),
        "failing_since_ts": None if stream is None else stream.failing_since_ms,
        "last_error": None if stream is None else stream.last_error,
    }


async def list_appservices(request: Request) -> Response:
    """GET /_bastion/admin/v1/appservices"""
    admin = await require_admin(request)
    statuses = await services_of(request).appservices.statuses(admin)
    return JsonResponse({"appservices": [_described(s) for s in statuses]})


ROUTES = [Route("/appservices", list_appservices, methods=["GET"])]

_NAMESPACE = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"regex": {"type": "string"}, "exclusive": {"type": "boolean"}},
    },
}
_SERVICE = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "url": {"type": ["string", "null"]},
        "sender": {"type": "string", "description": "The service's own user"},
        "namespaces": {
            "type": "object",
            "properties": {"users": _NAMESPACE, "aliases": _NAMESPACE, "rooms": _NAMESPACE},
        },
        "rate_limited": {"type": "boolean"},
        "protocols": {"type": "array", "items": {"type": "string"}},
        "delivered_upto": {
            "type": ["integer", "null"],
            "description": "Stream position every event up to which was delivered (null: the"
            " service's transactions have not started)",
        },
        "next_txn_id": {"type": ["integer", "null"]},
        "pending_events": {
            "type": "integer",
            "description": "Events in the transaction now being sent or retried",
        },
        "failing_since_ts": {
            "type": ["integer", "null"],
            "description": "Since when the pending transaction fails (ms since the epoch)",
        },
        "last_error": {"type": ["string", "null"]},
    },
}
OPENAPI = {
    "/appservices": {
        "get": {
            "summary": "The registered application services (never their tokens) and how far"
            " their transactions are",
            "responses": {
                "200": json_body(
                    {
                        "type": "object",
                        "properties": {"appservices": {"type": "array", "items": _SERVICE}},
                    }
                ),
                **errors(),
            },
        }
    }
}
