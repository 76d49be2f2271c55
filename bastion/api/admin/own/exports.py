"""Compliance exports: `POST /exports`, `POST /users/{userId}/export` (GDPR subject access),
`GET /exports/{exportId}`, `GET /exports/{exportId}/download` (services/export/).

Server admins only; creating and downloading are audited by the service.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from bastion.api.admin.guard import require_admin
from bastion.api.admin.own.openapi import errors, json_body, path_param
from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.services.export.request import ExportRequest

_CHUNK = 1 << 16


async def create_export(request: Request) -> Response:
    """POST /_bastion/admin/v1/exports `{"rooms", "users", "from_ts", "to_ts", "format",
    "include_media"}` → `{"export_id"}`"""
    admin = await require_admin(request)
    body = await decode_body(request, ExportRequest)
    export_id = await services_of(request).exports.schedule(admin, body)
    return JsonResponse({"export_id": export_id})


async def create_subject_export(request: Request) -> Response:
    """POST /_bastion/admin/v1/users/{userId}/export `{"format", "include_media", ...}` →
    `{"export_id"}`"""
    admin = await require_admin(request)
    body = await decode_body(request, ExportRequest)
    user_id = request.path_params["userId"]
    export_id = await services_of(request).exports.schedule(admin, body, subject=user_id)
    return JsonResponse({"export_id": export_id})


async def get_export(request: Request) -> Response:
    """GET /_bastion/admin/v1/exports/{exportId} → `{"status", "progress", "files", ...}`"""
    admin = await require_admin(request)
    status = await services_of(request).exports.status(admin, request.path_params["exportId"])
    return JsonResponse(msgspec.to_builtins(status))


async def download_export(request: Request) -> Response:
    """GET /_bastion/admin/v1/exports/{exportId}/download → the zip"""
    admin = await require_admin(request)
    export_id = request.path_params["exportId"]
    path = await services_of(request).exports.download(admin, export_id)
    headers = {
        "Content-Disposition": f'attachment; filename="bastion-export-{export_id}.zip"',
        "Content-Length": str(path.stat().st_size),
    }
    return StreamingResponse(_chunks(path), media_type="application/zip", headers=headers)


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    handle = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(handle.read, _CHUNK):
            yield chunk
    finally:
        handle.close()


ROUTES = [
    Route("/exports", create_export, methods=["POST"]),
    Route("/users/{userId}/export", create_subject_export, methods=["POST"]),
    Route("/exports/{exportId}", get_export, methods=["GET"]),
    Route("/exports/{exportId}/download", download_export, methods=["GET"]),
]

_IDS = {"type": "array", "items": {"type": "string"}}
_REQUEST = {
    "type": "object",
    "properties": {
        "rooms": {**_IDS, "description": "Only events in these rooms (none: every room)"},
        "users": {**_IDS, "description": "Only events these users sent (none: every sender)"},
        "from_ts": {"type": ["integer", "null"], "description": "From this time (ms), included"},
        "to_ts": {"type": ["integer", "null"], "description": "Until this time (ms), excluded"},
        "format": {"type": "string", "enum": ["jsonl", "csv", "eml"], "default": "jsonl"},
        "include_media": {
            "type": "boolean", "default": False,
            "description": "Put attachments in the zip (else referenced by mxc URI and SHA-256)",
        },
    },
}  # fmt: skip
_CREATED = {
    "type": "object",
    "required": ["export_id"],
    "properties": {"export_id": {"type": "string"}},
}
_STATUS = {
    "type": "object",
    "required": ["export_id", "status", "progress", "files"],
    "properties": {
        "export_id": {"type": "string"},
        "kind": {"type": "string", "enum": ["conversations", "subject"]},
        "status": {"type": "string", "enum": ["running", "done", "failed"]},
        "progress": {"type": "number", "description": "0 to 1"},
        "files": {**_IDS, "description": "Top-level files of the zip (folders end with /)"},
        "error": {"type": ["string", "null"]},
        "created_ts": {"type": "integer"},
        "updated_ts": {"type": "integer"},
    },
}
_ZIP = {
    "description": "The zip: the files and manifest.json (SHA-256 of every file)",
    "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
}
_EXPORT_ID = path_param("exportId", "The export ID")
OPENAPI = {
    "/exports": {
        "post": {
            "summary": "Start a compliance export of conversations (a background job)",
            "requestBody": {"required": True, **json_body(_REQUEST, "Selection and format")},
            "responses": {"200": json_body(_CREATED), **errors(400)},
        }
    },
    "/users/{userId}/export": {
        "post": {
            "summary": "Start a GDPR subject-access export of a user: profile, devices, rooms,"
            " their messages",
            "parameters": [path_param("userId", "The data subject")],
            "requestBody": {"required": True, **json_body(_REQUEST, "Format and time range")},
            "responses": {"200": json_body(_CREATED), **errors(400, 404)},
        }
    },
    "/exports/{exportId}": {
        "get": {
            "summary": "An export's status, progress and files",
            "parameters": [_EXPORT_ID],
            "responses": {"200": json_body(_STATUS), **errors(404)},
        }
    },
    "/exports/{exportId}/download": {
        "get": {
            "summary": "Download a finished export as one zip",
            "parameters": [_EXPORT_ID],
            "responses": {"200": _ZIP, **errors(404, 409)},
        }
    },
}
