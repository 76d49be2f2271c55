"""Admin authentication for both admin APIs, and the helpers their handlers share."""

from __future__ import annotations

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


def int_param(
    request: Request, name: str, default: int, *, minimum: int = 0, maximum: int | None = None
) -> int:
    """A non-negative integer query parameter: 400 M_INVALID_PARAM when it is not one."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise MatrixError(
            400, Errcode.INVALID_PARAM, f"Query parameter {name!r} must be an integer"
        ) from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f" and at most {maximum}" if maximum is not None else ""
        message = f"Query parameter {name!r} must be at least {minimum}{bound}"
        raise MatrixError(400, Errcode.INVALID_PARAM, message)
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
