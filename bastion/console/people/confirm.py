"""The confirmation page a destructive action on a person shows first (revoke a session, reset
the password, lock, unlink a sign-in): what will happen, and the button that POSTs it."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from bastion.console.pages import render
from bastion.console.people.paths import person_path


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What a confirmation page shows: a title, what will happen, the button."""

    title: str
    explanation: str
    button: str
    action: str
    danger: bool = True
    field_name: str = ""  # a hidden field the POST carries
    field_value: str = ""  # also %(value)s (and %(device)s) in the explanation
    named: str = ""  # %(named)s in the explanation


def confirm_page(request: Request, user_id: str, confirmation: Confirmation) -> Response:
    """A confirmation page about `user_id` that says what will happen before the POST."""
    return render(
        request, "people/confirm.html", user_id=user_id, confirmation=confirmation,
        back=person_path(user_id),
    )  # fmt: skip
