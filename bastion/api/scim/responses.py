"""SCIM's HTTP edge: bearer authentication, `application/scim+json` bodies, and every failure as
an RFC 7644 §3.12 error (`schemas: [...Error]`, `status` as a string, `scimType`), never a 500
page: a handler is wrapped by `scim_endpoint`, which turns SCIM exceptions, validation errors,
MatrixErrors and anything unexpected into that shape (the unexpected logged with its traceback).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pydantic
from scim2_models import Context, Error, InvalidSyntaxException, SCIMException, SearchRequest
from starlette.requests import Request
from starlette.responses import Response

from bastion.api.context import services_of
from bastion.errors import Errcode, MatrixError
from bastion.events.typed_json import decode_as
from bastion.services.principal import ScimClient

logger = logging.getLogger(__name__)

MEDIA_TYPE = "application/scim+json"
PREFIX = "/scim/v2"

ScimHandler = Callable[[Request, ScimClient], Awaitable[Response]]


class ScimResponse(Response):
    """A SCIM JSON body."""

    media_type = MEDIA_TYPE

    def __init__(
        self, content: dict[str, Any], status_code: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(json.dumps(content, ensure_ascii=False), status_code, headers)


def error_response(status: int, detail: str, scim_type: str | None = None) -> ScimResponse:
    """An RFC 7644 §3.12 error body."""
    body = Error(status=status, scim_type=scim_type, detail=detail).model_dump()
    headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if status == 401 else None
    return ScimResponse(body, status, headers)


def base_url(request: Request) -> str:
    """Where this SCIM service is published (for `meta.location`)."""
    return services_of(request).info.public_baseurl.rstrip("/") + PREFIX


async def _client(request: Request) -> ScimClient | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return await services_of(request).scim.tokens.authenticate(token.strip())


def _from_exception(exc: Exception) -> ScimResponse:
    if isinstance(exc, SCIMException):
        error = exc.to_error()
        return error_response(error.status or 400, error.detail or str(exc), error.scim_type)
    if isinstance(exc, pydantic.ValidationError):
        first = Error.from_validation_errors(exc.errors())[0]
        return error_response(first.status or 400, first.detail or "invalid", first.scim_type)
    if isinstance(exc, MatrixError):
        if exc.errcode == Errcode.EXCLUSIVE:  # RFC 7644 §3.12: "already in use or reserved"
            return error_response(409, exc.message, "uniqueness")
        scim_type = "invalidValue" if exc.status == 400 else None
        return error_response(exc.status, exc.message, scim_type)
    logger.exception("SCIM request failed", exc_info=exc)
    return error_response(500, "internal error")


def scim_endpoint(handler: ScimHandler) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate as a SCIM client (401 otherwise) and render every failure as a SCIM error."""

    async def endpoint(request: Request) -> Response:
        try:
            client = await _client(request)
            if client is None:
                return error_response(401, "a valid SCIM bearer token is required")
            return await handler(request, client)
        except Exception as exc:
            return _from_exception(exc)

    endpoint.__doc__ = handler.__doc__
    endpoint.__name__ = handler.__name__
    return endpoint


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; 400 invalidSyntax otherwise. Decoded as the Matrix API's
    bodies are (events/typed_json.py), so nesting past its depth, a NUL in a string or a lone
    surrogate is refused here rather than failing deeper (the database refuses such text)."""
    try:
        return decode_as(await request.body(), dict[str, Any], what="the body")
    except MatrixError as exc:
        raise InvalidSyntaxException(detail=exc.message) from exc


def search_request(request: Request) -> SearchRequest[Any]:
    """The query string's `filter`, `startIndex`, `count`, `attributes`, `excludedAttributes`."""
    names = ("filter", "startIndex", "count", "attributes", "excludedAttributes")
    params = {name: request.query_params[name] for name in names if name in request.query_params}
    return SearchRequest[Any].model_validate(params)


def resource_body(
    resource: Any, location: str, params: SearchRequest[Any] | None = None, *, created: bool = False
) -> dict[str, Any]:
    """A resource as sent back, with its `meta.location`."""
    if resource.meta is not None:
        resource.meta.location = location
    context = Context.RESOURCE_CREATION_RESPONSE if created else Context.RESOURCE_QUERY_RESPONSE
    body: dict[str, Any] = resource.model_dump(scim_ctx=context, response_parameters=params)
    return body
