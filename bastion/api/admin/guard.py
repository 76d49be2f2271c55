"""Admin authentication for both admin APIs, and the helpers their handlers share."""

from __future__ import annotations

from typing import TypeVar

from starlette.requests import Request

from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.errors import Errcode, MatrixError
from bastion.services.audit.trail import FAILURE
from bastion.services.principal import Requester


async def require_admin(request: Request) -> Requester:
    """The requester, if a server admin: 401 without a valid token, 403 M_FORBIDDEN otherwise.

    A refusal is audited (`admin.denied`, with the path): someone probing the admin API with a
    user's token is what an auditor wants to see."""
    requester = await require_requester(request)
    if not requester.is_admin:
        await services_of(request).audit.record_alone(
            requester,
            "admin.denied",
            None,
            {"method": request.method, "path": request.url.path},
            outcome=FAILURE,
        )
        raise MatrixError(403, Errcode.FORBIDDEN, "You are not a server admin")
    return requester


T = TypeVar("T")


def required(value: T | None, name: str) -> T:
    """A body field Synapse requires: 400 M_MISSING_PARAM naming it when it is absent."""
    if value is None:
        raise MatrixError(400, Errcode.MISSING_PARAM, f"Missing params: [{name!r}]")
    return value


BIGGEST_ID = 2**63 - 1  # a database integer's range: larger numbers name nothing stored


def int_param(
    request: Request, name: str, default: int, *, minimum: int = 0, maximum: int = BIGGEST_ID
) -> int:
    """A non-negative integer query parameter: 400 M_INVALID_PARAM when it is not one (or is
    past what a database integer holds, which would fail in the query instead)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise MatrixError(
            400, Errcode.INVALID_PARAM, f"Query parameter {name!r} must be an integer"
        ) from None
    if value < minimum or value > maximum:
        bound = f" and at most {maximum}" if maximum != BIGGEST_ID else ""
        message = f"Query parameter {name!r} must be at least {minimum}{bound}"
        raise MatrixError(400, Errcode.INVALID_PARAM, message)
    return value


def id_path_param(request: Request, name: str, what: str) -> int:
    """A numeric ID in the path (a report's): 400 M_INVALID_PARAM when it is not digits, 404
    M_NOT_FOUND past a database integer's range (no such row can exist; the query would fail)."""
    raw = request.path_params[name]
    if not raw.isascii() or not raw.isdigit():
        raise MatrixError(
            400, Errcode.INVALID_PARAM, f"The {name} parameter must be a positive integer"
        )
    value = int(raw)
    if value > BIGGEST_ID:
        raise MatrixError(404, Errcode.NOT_FOUND, f"{what} not found")
    return value


def bool_param(request: Request, name: str, default: bool) -> bool:
    """A `true`/`false` query parameter (Synapse's spelling): 400 when it is anything else."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise MatrixError(400, Errcode.INVALID_PARAM, f"Query parameter {name!r} must be true or false")
