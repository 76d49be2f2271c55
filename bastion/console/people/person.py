"""A person's page: details, name, admin flag, manager, sessions, password, lock.

Changes are POSTs carrying the CSRF token; the destructive ones (revoke a session, reset the
password, lock) first show a confirmation page (`confirm.html`) that says what will happen.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bastion.console.pages import (
    flash,
    form_text,
    read_form,
    redirect,
    render,
    require_session,
    services_of,
)
from bastion.console.people.confirm import Confirmation, confirm_page
from bastion.console.people.paths import one_time_password, person_path
from bastion.console.people.sso_links import sso_links
from bastion.i18n.languages import N_
from bastion.services.admin.users import UserChanges


async def person(request: Request) -> Response:
    """GET /admin/people/{user_id}"""
    session = await require_session(request)
    services, user_id = services_of(request), request.path_params["user_id"]
    details = await services.admin_users.get_user(session.requester, user_id)
    devices = await services.admin_user_data.list_devices(session.requester, user_id)
    rooms = await services.admin_user_data.joined_rooms(session.requester, user_id)
    return render(
        request, "people/person.html", person=details, devices=devices, rooms=rooms,
        person_path=person_path, sso_links=sso_links(services, details.external_ids),
    )  # fmt: skip


async def save_profile(request: Request) -> Response:
    """POST /admin/people/{user_id}/profile: display name and admin flag."""
    session = await require_session(request)
    form = await read_form(request)
    user_id = request.path_params["user_id"]
    changes = UserChanges(
        displayname=form_text(form, "displayname"), admin=form.get("admin") == "on"
    )
    await services_of(request).admin_users.put_user(session.requester, user_id, changes)
    flash(request, N_("The details of %(user)s were saved."), user=user_id)
    return redirect(person_path(user_id))


async def save_manager(request: Request) -> Response:
    """POST /admin/people/{user_id}/manager (empty: no manager)."""
    session = await require_session(request)
    form = await read_form(request)
    services, user_id = services_of(request), request.path_params["user_id"]
    raw = form_text(form, "manager")
    manager = services.console_sessions.user_id_of(raw) if raw else None
    await services.admin_users.set_manager(session.requester, user_id, manager)
    flash(request, N_("The manager of %(user)s was saved."), user=user_id)
    return redirect(person_path(user_id))


async def confirm_revoke(request: Request) -> Response:
    """GET /admin/people/{user_id}/sessions/{device_id}/revoke"""
    await require_session(request)
    user_id, device_id = request.path_params["user_id"], request.path_params["device_id"]
    return confirm_page(request, user_id, Confirmation(
        title=N_("Sign out a session"),
        explanation=N_(
            "The session %(device)s of %(user)s will be signed out and its device deleted. "
            "Messages it alone could decrypt may become unreadable on that device."
        ),
        button=N_("Sign out the session"),
        action=person_path(user_id, f"sessions/{device_id}/revoke"),
        field_name="device", field_value=device_id,
    ))  # fmt: skip


async def revoke(request: Request) -> Response:
    """POST /admin/people/{user_id}/sessions/{device_id}/revoke"""
    session = await require_session(request)
    await read_form(request)
    user_id, device_id = request.path_params["user_id"], request.path_params["device_id"]
    await services_of(request).admin_user_data.delete_devices(
        session.requester, user_id, [device_id]
    )
    flash(request, N_("The session %(device)s was signed out."), device=device_id)
    return redirect(person_path(user_id))


async def confirm_password(request: Request) -> Response:
    """GET /admin/people/{user_id}/password"""
    await require_session(request)
    user_id = request.path_params["user_id"]
    return confirm_page(request, user_id, Confirmation(
        title=N_("Reset the password"),
        explanation=N_(
            "%(user)s will get a new one-time password, shown to you once. Every session of "
            "theirs will be signed out."
        ),
        button=N_("Reset the password"),
        action=person_path(user_id, "password"),
    ))  # fmt: skip


async def reset_password(request: Request) -> Response:
    """POST /admin/people/{user_id}/password: a one-time password, shown once."""
    session = await require_session(request)
    await read_form(request)
    user_id, password = request.path_params["user_id"], one_time_password()
    await services_of(request).admin_users.reset_password(
        session.requester, user_id, password, logout_devices=True
    )
    return render(
        request, "people/password.html", user_id=user_id, password=password, created=False,
        person_path=person_path,
    )  # fmt: skip


# The account's switches: the path word of each confirmation page -> (title, explanation,
# button), and of each action -> what the flash says once it is done.
_SWITCHES: dict[str, tuple[str, str, str]] = {
    "lock": (
        N_("Lock the account"),
        N_(
            "%(user)s will not be able to sign in or use any session until an admin unlocks "
            "the account. Nothing is deleted."
        ),
        N_("Lock the account"),
    ),
    "suspend": (
        N_("Suspend the account"),
        N_(
            "%(user)s will still be able to sign in and read, but not to send messages, join "
            "or create rooms, invite anyone or change their profile, until an admin lifts the "
            "suspension. Nothing is deleted."
        ),
        N_("Suspend the account"),
    ),
    "shadow-ban": (
        N_("Shadow-ban the account"),
        N_(
            "%(user)s will still get answers as if everything worked, but nothing they send, "
            "no invite and no profile change will reach anyone, and they will not be told. "
            "Use it only against abuse that a ban, a suspension or offboarding would not stop. "
            "Nothing is deleted."
        ),
        N_("Shadow-ban the account"),
    ),
}
_SWITCHED = {
    "lock": N_("%(user)s is locked."),
    "unlock": N_("%(user)s is unlocked."),
    "suspend": N_("%(user)s is suspended."),
    "unsuspend": N_("%(user)s is no longer suspended."),
    "shadow-ban": N_("%(user)s is shadow-banned."),
    "lift-shadow-ban": N_("%(user)s is no longer shadow-banned."),
}


async def confirm_switch(request: Request) -> Response:
    """GET /admin/people/{user_id}/lock, /suspend and /shadow-ban"""
    await require_session(request)
    user_id, word = request.path_params["user_id"], request.url.path.rsplit("/", 1)[1]
    title, explanation, button = _SWITCHES[word]
    action = person_path(user_id, word)
    confirmation = Confirmation(title=title, explanation=explanation, button=button, action=action)
    return confirm_page(request, user_id, confirmation)


async def set_switch(request: Request) -> Response:
    """POST /admin/people/{user_id}/lock, /unlock, /suspend, /unsuspend, /shadow-ban and
    /lift-shadow-ban"""
    session = await require_session(request)
    await read_form(request)
    user_id, word = request.path_params["user_id"], request.url.path.rsplit("/", 1)[1]
    services, actor = services_of(request), session.requester
    if word in ("lock", "unlock"):
        await services.admin_users.set_locked(actor, user_id, word == "lock")
    elif word in ("suspend", "unsuspend"):
        await services.suspensions.set_suspended(actor, user_id, word == "suspend")
    else:
        await services.admin_users.set_shadow_banned(actor, user_id, word == "shadow-ban")
    flash(request, _SWITCHED[word], user=user_id)
    return redirect(person_path(user_id))


_PERSON = "/people/{user_id}"
ROUTES: list[BaseRoute] = [
    Route(_PERSON, person, methods=["GET"]),
    Route(f"{_PERSON}/profile", save_profile, methods=["POST"]),
    Route(f"{_PERSON}/manager", save_manager, methods=["POST"]),
    Route(f"{_PERSON}/sessions/{{device_id}}/revoke", confirm_revoke, methods=["GET"]),
    Route(f"{_PERSON}/sessions/{{device_id}}/revoke", revoke, methods=["POST"]),
    Route(f"{_PERSON}/password", confirm_password, methods=["GET"]),
    Route(f"{_PERSON}/password", reset_password, methods=["POST"]),
    *(Route(f"{_PERSON}/{word}", confirm_switch, methods=["GET"]) for word in _SWITCHES),
    *(Route(f"{_PERSON}/{word}", set_switch, methods=["POST"]) for word in _SWITCHED),
]
