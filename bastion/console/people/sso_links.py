"""A person's single sign-on links (docs/subsystems/auth.md): the identity provider subjects
that sign in as this account, and unlinking one. An admin unlinks a person whom the IdP
recreated with a new subject (refused at sign-in until then: the old subject still holds the
account), or a subject linked by mistake. The same change as the `external_ids` of Synapse's
admin API, through the same service, audited as `user.update`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bastion.api.context import Services
from bastion.console.pages import (
    flash,
    form_text,
    read_form,
    redirect,
    require_session,
    services_of,
)
from bastion.console.people.confirm import Confirmation, confirm_page
from bastion.console.people.paths import person_path
from bastion.i18n.languages import N_
from bastion.services.admin.users import ExternalId, UserChanges


@dataclass(frozen=True, slots=True)
class SsoLink:
    """One link as the person's page lists it."""

    provider_id: str
    provider_name: str  # the configured name; the ID when the provider is no longer configured
    subject: str
    unlink_path: str


def sso_links(services: Services, links: list[tuple[str, str]]) -> list[SsoLink]:
    """The account's (provider, subject) links, named for the page."""
    return [
        SsoLink(
            provider_id=provider,
            provider_name=_provider_name(services, provider),
            subject=subject,
            unlink_path=f"sso/{quote(provider, safe='')}/unlink?subject={quote(subject, safe='')}",
        )
        for provider, subject in links
    ]


def _provider_name(services: Services, provider_id: str) -> str:
    provider = services.sso.provider(provider_id)
    return provider.config.name if provider is not None else provider_id


async def confirm_unlink(request: Request) -> Response:
    """GET /admin/people/{user_id}/sso/{provider}/unlink?subject="""
    await require_session(request)
    user_id, provider = request.path_params["user_id"], request.path_params["provider"]
    subject = request.query_params.get("subject", "")
    return confirm_page(request, user_id, Confirmation(
        title=N_("Unlink a sign-in"),
        explanation=N_(
            "%(user)s will no longer be linked to the sign-in %(value)s of %(named)s. Their "
            "next sign-in with %(named)s links the account again, to whichever sign-in then "
            "carries their username. Sessions already signed in are not affected."
        ),
        button=N_("Unlink the sign-in"),
        action=person_path(user_id, f"sso/{quote(provider, safe='')}/unlink"),
        field_name="subject", field_value=subject,
        named=_provider_name(services_of(request), provider),
    ))  # fmt: skip


async def unlink(request: Request) -> Response:
    """POST /admin/people/{user_id}/sso/{provider}/unlink (form: subject)"""
    session = await require_session(request)
    form = await read_form(request)
    services = services_of(request)
    user_id, provider = request.path_params["user_id"], request.path_params["provider"]
    subject = form_text(form, "subject")
    details = await services.admin_users.get_user(session.requester, user_id)
    kept = [link for link in details.external_ids if link != (provider, subject)]
    if len(kept) == len(details.external_ids):
        flash(request, N_("That sign-in is not linked to %(user)s."), "error", user=user_id)
        return redirect(person_path(user_id))
    changes = UserChanges(external_ids=[ExternalId(p, s) for p, s in kept])
    await services.admin_users.put_user(session.requester, user_id, changes)
    flash(request, N_("%(user)s is no longer linked to that sign-in."), user=user_id)
    return redirect(person_path(user_id))


_UNLINK = "/people/{user_id}/sso/{provider}/unlink"
ROUTES: list[BaseRoute] = [
    Route(_UNLINK, confirm_unlink, methods=["GET"]),
    Route(_UNLINK, unlink, methods=["POST"]),
]
