"""Admin removal of messages, as the organisation's moderation account (docs/governance.md):

`POST /rooms/{roomId}/events/{eventId}/redact` (`{"reason"}`): one event, at once;
`POST /users/{userId}/redact` (`{"reason", "room_id"?, "dry_run"?}`): all of a user's messages
in one room or everywhere, as a background job (202 with its `job_id`);
`GET /redactions/{jobId}`: that job's progress.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin
from bastion.api.admin.own.openapi import errors, json_body, path_param
from bastion.api.bodies import decode_optional_body
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.services.moderation.redactions import RedactionJob, RedactionScope


class RedactEventBody(msgspec.Struct, frozen=True):
    reason: str | None = None


class RedactUserBody(msgspec.Struct, frozen=True):
    reason: str | None = None
    room_id: str | None = None
    dry_run: bool = False


def job_json(job: RedactionJob) -> dict[str, Any]:
    """A user-redaction job as this API shows it."""
    return {
        "job_id": job.job_id,
        "status": job.status,
        "user_id": job.user_id,
        "room_id": job.room_id,
        "rooms": None if job.rooms is None else list(job.rooms),
        "reason": job.reason,
        "requested_by": job.requested_by,
        "redacted": job.redacted,
        "refused": job.refused,
        "created_ts": job.created_ts,
        "updated_ts": job.updated_ts,
    }


async def redact_event(request: Request) -> Response:
    """POST /_bastion/admin/v1/rooms/{roomId}/events/{eventId}/redact"""
    admin = await require_admin(request)
    body = await decode_optional_body(request, RedactEventBody)
    p = request.path_params
    event_id = await services_of(request).redactions.redact_event(
        admin, p["roomId"], p["eventId"], body.reason
    )
    return JsonResponse({"event_id": event_id})


async def redact_user(request: Request) -> Response:
    """POST /_bastion/admin/v1/users/{userId}/redact"""
    admin = await require_admin(request)
    body = await decode_optional_body(request, RedactUserBody)
    rooms = None if body.room_id is None else (body.room_id,)
    scope = RedactionScope(request.path_params["userId"], rooms)
    started = await services_of(request).redactions.start_user_redaction(
        admin, scope, body.reason, dry_run=body.dry_run
    )
    if isinstance(started, int):
        return JsonResponse({"dry_run": True, "messages": started})
    return JsonResponse(job_json(started), status_code=202)


async def redaction_status(request: Request) -> Response:
    """GET /_bastion/admin/v1/redactions/{jobId}"""
    admin = await require_admin(request)
    job = await services_of(request).redactions.job(admin, request.path_params["jobId"])
    return JsonResponse(job_json(job))


ROUTES = [
    Route("/rooms/{roomId}/events/{eventId}/redact", redact_event, methods=["POST"]),
    Route("/users/{userId}/redact", redact_user, methods=["POST"]),
    Route("/redactions/{jobId}", redaction_status, methods=["GET"]),
]

_NULLABLE_STRING = {"type": ["string", "null"]}
_JOB = {
    "type": "object",
    "properties": {
        "job_id": {"type": "string"},
        "status": {"enum": ["pending", "complete"]},
        "user_id": {"type": "string"},
        "room_id": _NULLABLE_STRING,
        "rooms": {
            "type": ["array", "null"],
            "items": {"type": "string"},
            "description": "The rooms of a job asked for in several (Synapse's API)",
        },
        "reason": _NULLABLE_STRING,
        "requested_by": {"type": "string"},
        "redacted": {"type": "integer", "description": "Messages redacted so far"},
        "refused": {"type": "integer", "description": "Messages in rooms it could not act in"},
        "created_ts": {"type": "integer"},
        "updated_ts": {"type": "integer"},
    },
}
_MODERATOR_NOTE = (
    " Redactions are sent by the policy's moderation account (`rooms.moderator`), which is "
    "joined and promoted first if needed; 400 when no moderation account is configured."
)
OPENAPI = {
    "/rooms/{roomId}/events/{eventId}/redact": {
        "post": {
            "summary": "Redact any event, with a reason (audited `event.redact`)",
            "description": _MODERATOR_NOTE.strip(),
            "parameters": [path_param("roomId", "The room"), path_param("eventId", "The event")],
            "requestBody": json_body(
                {"type": "object", "properties": {"reason": {"type": "string"}}}, "The reason"
            ),
            "responses": {
                "200": json_body(
                    {"type": "object", "properties": {"event_id": {"type": "string"}}},
                    "The redaction event",
                ),
                **errors(400, 404),
            },
        }
    },
    "/users/{userId}/redact": {
        "post": {
            "summary": "Redact all of a user's messages, in one room or everywhere "
            "(a background job; audited `user.redact_all`)",
            "description": "`dry_run` counts the messages and changes nothing." + _MODERATOR_NOTE,
            "parameters": [path_param("userId", "Whose messages")],
            "requestBody": json_body(
                {
                    "type": "object",
                    "properties": {
                        "reason": {"type": "string"},
                        "room_id": {"type": "string", "description": "Only this room"},
                        "dry_run": {"type": "boolean"},
                    },
                },
                "What to redact",
            ),
            "responses": {
                "202": json_body(_JOB, "The job, queued"),
                "200": json_body(
                    {
                        "type": "object",
                        "properties": {
                            "dry_run": {"const": True},
                            "messages": {"type": "integer"},
                        },
                    },
                    "Dry run: how many messages would be redacted",
                ),
                **errors(400, 404),
            },
        }
    },
    "/redactions/{jobId}": {
        "get": {
            "summary": "A user-redaction job's progress",
            "parameters": [path_param("jobId", "`job_id` from the redact request")],
            "responses": {"200": json_body(_JOB), **errors(404)},
        }
    },
}
