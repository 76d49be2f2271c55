"""Synapse's "redact events of a user": `POST /_synapse/admin/v1/user/{userId}/redact`
(answering a `redact_id` at once) and `GET /_synapse/admin/v1/user/redact_status/{redactId}`,
on Bastion's durable user-redaction job (services/moderation/jobs.py).

Where Bastion differs (docs/admin-api.md): the redactions are always sent by the policy's
moderation account (Synapse puppets the user unless `use_admin`), so `use_admin` changes
nothing; an empty `rooms` means every room the user sent messages in, left rooms included
(Synapse: the rooms they are joined to or banned from); what is redacted is every message,
reaction and other non-state event (Synapse: messages, encrypted messages and joins); an
unknown room in `rooms` is 404 rather than nothing done. A job's status is kept for good. Like
Synapse, a second redaction of a user is refused while one runs (Bastion: or waits to run).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin
from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError
from bastion.services.moderation.redactions import RedactionJob, RedactionScope, task_status

# A time in ms within what any database integer holds (a larger number is a malformed body).
Timestamp = Annotated[int, msgspec.Meta(ge=-(2**53), le=2**53)]
DEFAULT_LIMIT = 1000  # Synapse's, per room


class RedactBody(msgspec.Struct, frozen=True):
    """Synapse's fields (`rooms` required, possibly empty)."""

    rooms: list[str]
    reason: str | None = None
    limit: Annotated[int, msgspec.Meta(le=2**53)] | None = None
    use_admin: bool | None = None
    before_ts: Timestamp | None = None
    after_ts: Timestamp | None = None


async def redact_user(request: Request) -> Response:
    """POST /_synapse/admin/v1/user/{userId}/redact"""
    admin = await require_admin(request)
    body = await decode_body(request, RedactBody)
    if body.limit is not None and body.limit < 0:
        raise MatrixError(
            400,
            Errcode.INVALID_PARAM,
            "If limit is provided it must be a non-negative integer greater than 0.",
        )
    user_id = request.path_params["userId"]
    redactions = services_of(request).redactions
    if await redactions.unfinished_of(admin, user_id):
        raise MatrixError(400, Errcode.UNKNOWN, f"Redact already in progress for user {user_id}")
    rooms = tuple(dict.fromkeys(body.rooms)) or None
    scope = RedactionScope(user_id, rooms, body.after_ts, body.before_ts)
    job = await redactions.start_user_redaction(
        admin, scope, body.reason, per_room=body.limit or DEFAULT_LIMIT
    )
    if not isinstance(job, RedactionJob):  # not a dry run: the service returns the job
        raise TypeError(f"expected a redaction job, got {job!r}")
    return JsonResponse({"redact_id": job.job_id})


def status_json(job: RedactionJob) -> dict[str, Any]:
    """A job in Synapse's task statuses: scheduled (nothing done yet), active, complete (with
    the messages that could not be redacted and why), failed (with the error)."""
    status = task_status(job)
    if status == "failed":
        return {"status": status, "error": job.error}
    if status == "complete":
        return {"status": status, "failed_redactions": job.failed}
    return {"status": status}


async def redact_status(request: Request) -> Response:
    """GET /_synapse/admin/v1/user/redact_status/{redactId}"""
    admin = await require_admin(request)
    job = await services_of(request).redactions.job(admin, request.path_params["redactId"])
    return JsonResponse(status_json(job))


ROUTES = [
    Route("/v1/user/{userId}/redact", redact_user, methods=["POST"]),
    Route("/v1/user/redact_status/{redactId}", redact_status, methods=["GET"]),
]
