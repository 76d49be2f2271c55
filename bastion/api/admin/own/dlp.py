"""Data-leak prevention for admins: `GET /dlp/reviews` (the compliance queue of events `flag`
policies matched), `POST /dlp/reviews/{reviewId}/resolve`, and `POST /dlp/test` (the console's
"try a text": what each policy in force and each built-in detector finds)."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import int_param, require_admin
from bastion.api.admin.own.openapi import errors, json_body, page_of, path_param, query
from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError
from bastion.services.dlp.reviews import DlpReview
from bastion.services.dlp.text import Finding

MAX_PAGE = 500
_STATUSES = {"open": "open", "resolved": "resolved", "all": None}


class ResolveBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How the reviewer closed the entry (free text: "false positive", "user coached", ...)."""

    resolution: str


class TestBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The text to try."""

    text: str


def _review_json(review: DlpReview) -> dict[str, Any]:
    encoded: dict[str, Any] = msgspec.to_builtins(review)
    return encoded


def _findings(text: str, findings: list[Finding]) -> list[dict[str, Any]]:
    return [
        {"detector": f.detector, "start": f.start, "end": f.end, "match": text[f.start : f.end]}
        for f in findings
    ]


async def list_reviews(request: Request) -> Response:
    """GET /_bastion/admin/v1/dlp/reviews?status=open|resolved|all&from=&limit="""
    admin = await require_admin(request)
    status_name = request.query_params.get("status", "open")
    if status_name not in _STATUSES:
        raise MatrixError(400, Errcode.INVALID_PARAM, "status must be open, resolved or all")
    limit = int_param(request, "limit", 100, minimum=1, maximum=MAX_PAGE)
    after = int_param(request, "from", 0)
    reviews = await services_of(request).dlp.list_reviews(
        admin, status=_STATUSES[status_name], after=after, limit=limit + 1
    )
    page = reviews[:limit]
    next_token = str(page[-1].review_id) if len(reviews) > limit else None
    return JsonResponse({"entries": [_review_json(r) for r in page], "next": next_token})


async def resolve_review(request: Request) -> Response:
    """POST /_bastion/admin/v1/dlp/reviews/{reviewId}/resolve `{"resolution": "..."}`"""
    admin = await require_admin(request)
    raw_id = request.path_params["reviewId"]
    if not raw_id.isdigit():
        raise MatrixError(404, Errcode.NOT_FOUND, f"No DLP review {raw_id!r}")
    body = await decode_body(request, ResolveBody)
    review = await services_of(request).dlp.resolve(admin, int(raw_id), body.resolution)
    return JsonResponse(_review_json(review))


async def test_text(request: Request) -> Response:
    """POST /_bastion/admin/v1/dlp/test `{"text": "..."}`"""
    admin = await require_admin(request)
    text = (await decode_body(request, TestBody)).text
    result = await services_of(request).dlp.test(admin, text)
    return JsonResponse(
        {
            "policies": [
                {"name": p.name, "action": p.action, "findings": _findings(text, p.findings)}
                for p in result.policies
            ],
            "detectors": {name: _findings(text, f) for name, f in result.detectors.items()},
        }
    )


ROUTES = [
    Route("/dlp/reviews", list_reviews, methods=["GET"]),
    Route("/dlp/reviews/{reviewId}/resolve", resolve_review, methods=["POST"]),
    Route("/dlp/test", test_text, methods=["POST"]),
]

_REVIEW = {
    "type": "object",
    "properties": {
        "review_id": {"type": "integer"},
        "created_ts": {"type": "integer"},
        "room_id": {"type": "string"},
        "event_id": {"type": "string"},
        "sender": {"type": "string"},
        "event_type": {"type": "string"},
        "policy": {"type": "string"},
        "detectors": {"type": "array", "items": {"type": "string"}},
        "fields": {"type": "array", "items": {"type": "string"}},
        "status": {"enum": ["open", "resolved"]},
        "resolved_by": {"type": ["string", "null"]},
        "resolved_ts": {"type": ["integer", "null"]},
        "resolution": {"type": ["string", "null"]},
    },
}
_FINDINGS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "detector": {"type": "string"},
            "start": {"type": "integer"},
            "end": {"type": "integer"},
            "match": {"type": "string"},
        },
    },
}
OPENAPI = {
    "/dlp/reviews": {
        "get": {
            "summary": "List the DLP review queue (events `flag` policies matched), oldest first",
            "parameters": [
                query("status", {"enum": ["open", "resolved", "all"]}, "Which entries (open)"),
                query("from", {"type": "string"}, "`next` of the previous page"),
                query("limit", {"type": "integer", "maximum": MAX_PAGE}, "Page size (100)"),
            ],
            "responses": {"200": json_body(page_of(_REVIEW)), **errors(400)},
        }
    },
    "/dlp/reviews/{reviewId}/resolve": {
        "post": {
            "summary": "Resolve an open review entry (audited as `dlp.review.resolve`)",
            "parameters": [path_param("reviewId", "The entry's `review_id`")],
            "requestBody": json_body(
                {
                    "type": "object",
                    "required": ["resolution"],
                    "properties": {"resolution": {"type": "string"}},
                },
                "How it was resolved",
            ),
            "responses": {"200": json_body(_REVIEW), **errors(400, 404, 409)},
        }
    },
    "/dlp/test": {
        "post": {
            "summary": "Try a text: what each DLP policy in force and each built-in detector finds",
            "requestBody": json_body(
                {
                    "type": "object",
                    "required": ["text"],
                    "properties": {"text": {"type": "string"}},
                },
                "The text (not stored, not audited)",
            ),
            "responses": {
                "200": json_body(
                    {
                        "type": "object",
                        "properties": {
                            "policies": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "name": {"type": "string"},
                                        "action": {"enum": ["block", "redact", "warn", "flag"]},
                                        "findings": _FINDINGS,
                                    },
                                },
                            },
                            "detectors": {"type": "object", "additionalProperties": _FINDINGS},
                        },
                    }
                ),
                **errors(400),
            },
        }
    },
}
