"""Exception handlers that turn errors into the spec's JSON error bodies."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError

log = logging.getLogger(__name__)


async def matrix_error(_request: Request, exc: Exception) -> Response:
    """A MatrixError raised anywhere below: its status and body."""
    assert isinstance(exc, MatrixError)
    return JsonResponse(exc.body(), status_code=exc.status)


async def http_error(_request: Request, exc: Exception) -> Response:
    """Routing failures: unknown endpoint (404) and wrong method (405) are M_UNRECOGNIZED."""
    assert isinstance(exc, HTTPException)
    errcode = Errcode.UNRECOGNIZED if exc.status_code in (404, 405) else Errcode.UNKNOWN
    message = "Unrecognized request" if errcode is Errcode.UNRECOGNIZED else str(exc.detail)
    body = {"errcode": str(errcode), "error": message}
    return JsonResponse(body, status_code=exc.status_code, headers=exc.headers)


async def client_gone(request: Request, _exc: Exception) -> Response:
    """The client hung up while sending its request: nothing to answer, nothing went wrong."""
    log.debug("client disconnected during %s %s", request.method, request.url.path)
    return Response(status_code=400)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """A bug: log it, answer 500 M_UNKNOWN without internals."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    body = {"errcode": str(Errcode.UNKNOWN), "error": "Internal server error"}
    return JsonResponse(body, status_code=500)
