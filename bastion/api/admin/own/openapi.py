"""`GET /_bastion/admin/v1/openapi.json`: the OpenAPI 3.1 description of Bastion's own admin API.

Each module of this package describes its own routes next to them, in `OPENAPI` (path → path
item, paths relative to the prefix); this module merges them into one document. A test checks
that every route has its operation here and every operation a route, so the two never drift.
The document is public: it describes the API, it grants nothing.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.responses import JsonResponse

PREFIX = "/_bastion/admin/v1"

Json = dict[str, Any]

ERROR = {"$ref": "#/components/schemas/Error"}


def json_body(schema: Json, description: str = "OK") -> Json:
    """A response (or request body) of JSON with `schema`."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*statuses: int) -> Json:
    """Matrix error responses (`errcode` and `error`) for `statuses`, plus 401 and 403."""
    described = {
        400: "Invalid request",
        401: "Missing or unknown access token",
        403: "Not a server admin",
        404: "Not found",
        409: "Conflict",
    }
    return {
        str(status): json_body(ERROR, described.get(status, "Error"))
        for status in sorted({401, 403, *statuses})
    }


def query(name: str, schema: Json, description: str) -> Json:
    """A query parameter."""
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}  # fmt: skip


def path_param(name: str, description: str) -> Json:
    """A path parameter (always a string)."""
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"},
            "description": description}  # fmt: skip


def page_of(item: Json) -> Json:
    """The shape of every list: `{"entries": [...], "next": token-or-null}`."""
    return {
        "type": "object",
        "required": ["entries", "next"],
        "properties": {
            "entries": {"type": "array", "items": item},
            "next": {"type": ["string", "null"], "description": "Pass as `from` for the next page"},
        },
    }


def _areas() -> list[Json]:
    # Imported here: the area modules import this one for its helpers.
    from bastion.api.admin.own import AREAS  # noqa: PLC0415

    return [area.OPENAPI for area in AREAS]


def document() -> Json:
    """The whole OpenAPI 3.1 document."""
    paths: Json = {}
    for area in _areas():
        for path, item in area.items():
            paths.setdefault(PREFIX + path, {}).update(item)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Bastion admin API",
            "version": "1",
            "description": "Governance and compliance for a Bastion server. Authenticate with "
            "a server admin's Matrix access token (`Authorization: Bearer ...`). Errors are "
            'Matrix errors: `{"errcode": ..., "error": ...}`.',
        },
        "components": {
            "securitySchemes": {"accessToken": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["errcode", "error"],
                    "properties": {"errcode": {"type": "string"}, "error": {"type": "string"}},
                }
            },
        },
        "security": [{"accessToken": []}],
        "paths": paths,
    }


async def openapi_json(_request: Request) -> Response:
    """GET /_bastion/admin/v1/openapi.json"""
    return JsonResponse(document())


ROUTES = [Route("/openapi.json", openapi_json, methods=["GET"])]
OPENAPI: Json = {
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "security": [],
            "responses": {"200": json_body({"type": "object"})},
        }
    }
}
