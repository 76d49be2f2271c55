"""The registered application services, and the questions the rest of the server asks them.

Built once from the config (registration.py); a change of registrations takes a restart, as
in Synapse. The as_token lookup hashes the presented token first, so the comparison does not
depend on how much of a secret a guess shares with it.

Exclusivity (spec: application-service-api#server-admin-style-permissions): a user ID or alias
in a service's exclusive namespace is that service's alone. Nobody else may create it: not an
admin, not SCIM, not another service (`M_EXCLUSIVE`); `check_user_creation` and
`check_alias_creation` are what account and alias creation ask.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from bastion.errors import Errcode, MatrixError
from bastion.services.appservices.registration import AppServiceRegistration


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class AppServiceRegistry:
    """Every registration, by ID and by token."""

    def __init__(self, registrations: Sequence[AppServiceRegistration]) -> None:
        self.all = tuple(registrations)
        self._by_token = {_digest(r.as_token): r for r in registrations}
        self._by_id = {r.id: r for r in registrations}

    def by_token(self, token: str) -> AppServiceRegistration | None:
        """The registration whose as_token this is (None: a user's token, or unknown)."""
        if not self._by_token:
            return None
        return self._by_token.get(_digest(token))

    def by_id(self, appservice_id: str) -> AppServiceRegistration | None:
        return self._by_id.get(appservice_id)

    def check_user_creation(self, user_id: str, creator: str | None) -> None:
        """400 M_EXCLUSIVE when `user_id` is in another's exclusive namespace (or any
        service's, for a creator that is not a service: `creator` None), or outside the
        namespaces of the creating service (`creator`: its ID)."""
        own = None if creator is None else self._by_id.get(creator)
        if own is not None and not own.owns_user(user_id):
            raise MatrixError(
                400, Errcode.EXCLUSIVE, f"{user_id} is outside the namespaces of {own.id}"
            )
        self._refuse_claimed(user_id, own, lambda r: r.claims_user(user_id))

    def check_alias_creation(self, alias: str, creator: str | None) -> None:
        """As `check_user_creation`, for a room alias."""
        own = None if creator is None else self._by_id.get(creator)
        self._refuse_claimed(alias, own, lambda r: r.claims_alias(alias))

    def _refuse_claimed(
        self,
        name: str,
        own: AppServiceRegistration | None,
        claims: Callable[[AppServiceRegistration], bool],
    ) -> None:
        """400 M_EXCLUSIVE when a service other than `own` claims `name`."""
        for registration in self.all:
            if registration is not own and claims(registration):
                raise MatrixError(
                    400,
                    Errcode.EXCLUSIVE,
                    f"{name} is reserved by the application service {registration.id}",
                )
