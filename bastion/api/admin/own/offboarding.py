"""Offboarding: `POST /users/{userId}/offboard` runs (or resumes) the workflow and answers its
report; `GET /offboarding/{jobId}` reads a job's status and report (services/offboarding/)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin
from bastion.api.admin.own.openapi import errors, json_body, path_param
from bastion.api.bodies import decode_optional_object
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError
from bastion.services.offboarding.report import report_fields


async def offboard(request: Request) -> Response:
    """POST /_bastion/admin/v1/users/{userId}/offboard with `{"erase": bool}`: the report."""
    admin = await require_admin(request)
    body = await decode_optional_object(request)
    erase = body.get("erase", False)
    if not isinstance(erase, bool):
        raise MatrixError(400, Errcode.BAD_JSON, "erase must be a boolean")
    report = await services_of(request).offboarding.offboard(
        admin, request.path_params["userId"], erase=erase
    )
    return JsonResponse(report_fields(report))


async def get_job(request: Request) -> Response:
    """GET /_bastion/admin/v1/offboarding/{jobId}: the job's status and report."""
    admin = await require_admin(request)
    report = await services_of(request).offboarding.job(admin, request.path_params["jobId"])
    return JsonResponse(report_fields(report))


ROUTES = [
    Route("/users/{userId}/offboard", offboard, methods=["POST"]),
    Route("/offboarding/{jobId}", get_job, methods=["GET"]),
]

_ROOMS = {"type": "array", "items": {"type": "string"}}
_REPORT = {
    "type": "object",
    "description": "What the offboarding did (docs/governance.md, Offboarding)",
    "properties": {
        "job_id": {"type": "string"},
        "user_id": {"type": "string"},
        "status": {"type": "string", "enum": ["running", "done"]},
        "step": {"type": "string", "description": "the next step to run; `done` when finished"},
        "erase": {"type": "boolean"},
        "sessions_revoked": {"type": "integer"},
        "pushers_removed": {"type": "integer"},
        "successors_promoted": {
            "type": "object",
            "description": "room ID → the successor made admin there",
            "additionalProperties": {"type": "string"},
        },
        "successors_pending": {
            "type": "object",
            "description": "room ID → the successor being promoted when the job stopped",
            "additionalProperties": {"type": "string"},
        },
        "rooms_without_successor": _ROOMS,
        "rooms_left": _ROOMS,
        "invites_rejected": _ROOMS,
        "knocks_withdrawn": _ROOMS,
        "rooms_unpublished": _ROOMS,
        "profile_cleared": {"type": "boolean"},
        "events_redacted": {"type": "integer"},
        "events_held": {"type": "integer", "description": "kept: a legal hold covers them"},
    },
}
_REQUEST = {
    "type": "object",
    "properties": {"erase": {"type": "boolean", "description": "also erase profile and messages"}},
}
OPENAPI = {
    "/users/{userId}/offboard": {
        "post": {
            "summary": "Offboard a user (deactivate, successors, leave every room, unlist,"
            " optionally erase); resumes an unfinished job for the user",
            "parameters": [path_param("userId", "The leaver")],
            "requestBody": {"required": False, **json_body(_REQUEST, "Options")},
            "responses": {"200": json_body(_REPORT), **errors(400, 404)},
        }
    },
    "/offboarding/{jobId}": {
        "get": {
            "summary": "An offboarding job's status and report",
            "parameters": [path_param("jobId", "The job ID from the report")],
            "responses": {"200": json_body(_REPORT), **errors(404)},
        }
    },
}
