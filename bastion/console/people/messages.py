"""Removing a person's messages (a spammer's, an offensive account's), in every room, ever or
within chosen days: the page counts what would go (a dry run of the user-redaction job) for the
days given, and its confirmation queues the job (services/moderation/redactions.py), whose
progress `/redactions/{job_id}` shows. The days are UTC, both included."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bastion.console.pages import (
    ROOT,
    form_text,
    read_form,
    redirect,
    render,
    require_session,
    services_of,
)
from bastion.console.people.paths import person_path
from bastion.console.selection import day_end_ms, day_start_ms
from bastion.services.moderation.redactions import RedactionJob, RedactionScope


def _scope(user_id: str, values: Mapping[str, str]) -> RedactionScope:
    """Every room; `from` (first day) and `until` (last day) when given."""
    until = day_end_ms(values.get("until", ""), "until")
    return RedactionScope(
        user_id,
        after_ts=day_start_ms(values.get("from", ""), "from"),
        before_ts=None if until is None else until - 1,
    )


async def count_messages(request: Request) -> Response:
    """GET /admin/people/{user_id}/remove-messages?from=&until=: what would go"""
    session = await require_session(request)
    services, user_id = services_of(request), request.path_params["user_id"]
    await services.admin_users.get_user(session.requester, user_id)  # 404 for a typo
    values = {key: request.query_params.get(key, "") for key in ("from", "until")}
    counted = await services.redactions.start_user_redaction(
        session.requester, _scope(user_id, values), None, dry_run=True
    )
    return render(
        request, "people/remove_messages.html", user_id=user_id, values=values,
        messages=counted, back=person_path(user_id),
        action=person_path(user_id, "remove-messages"),
    )  # fmt: skip


async def remove_messages(request: Request) -> Response:
    """POST /admin/people/{user_id}/remove-messages (from, until, reason): queue the job"""
    session = await require_session(request)
    form = await read_form(request)
    services, user_id = services_of(request), request.path_params["user_id"]
    await services.admin_users.get_user(session.requester, user_id)
    values = {key: form_text(form, key) for key in ("from", "until")}
    job = await services.redactions.start_user_redaction(
        session.requester, _scope(user_id, values), form_text(form, "reason") or None
    )
    if not isinstance(job, RedactionJob):  # not a dry run: the service returns the job
        raise TypeError(f"expected a redaction job, got {job!r}")
    return redirect(f"{ROOT}/redactions/{job.job_id}")


ROUTES: list[BaseRoute] = [
    Route("/people/{user_id}/remove-messages", count_messages, methods=["GET"]),
    Route("/people/{user_id}/remove-messages", remove_messages, methods=["POST"]),
]
