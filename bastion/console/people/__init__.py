"""People: the organisation's accounts (list and search, create, a person's page, offboarding,
removing their messages).

Every action calls `admin_users`, `admin_user_data` or `offboarding` as the signed-in admin's
console device, so each is audited with the admin as actor. A new or reset password is a
one-time password generated here, shown once on the answer page and never stored in clear.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from bastion.console.people import directory, messages, offboard, person, sso_links

ROUTES: list[BaseRoute] = [
    *directory.ROUTES,
    *person.ROUTES,
    *offboard.ROUTES,
    *sso_links.ROUTES,
    *messages.ROUTES,
]
