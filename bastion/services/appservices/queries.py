"""Asking a service about a user or alias it may create (spec: application-service-api,
"Querying"), and the namespace checks, as room creation, membership and aliases use them.

When someone invites a user of a service's namespaces that does not exist yet (how a person
starts a chat with someone on a bridged network: they invite that person's ghost) or resolves
an alias of its namespaces that does not exist, the server asks the service first
(`GET /_matrix/app/v1/users/{userId}`, `/rooms/{roomAlias}`); a 2xx answer means the service
created it through the client API meanwhile, and the server looks again. A service that is
unreachable or answers otherwise is logged, and the user or alias stays unknown (404): the spec's
retries before a 408 are not made.
"""

from __future__ import annotations

import logging

from bastion.services.appservices.client import AppServiceClient, Unreachable
from bastion.services.appservices.registration import AppServiceRegistration
from bastion.services.appservices.registry import AppServiceRegistry

log = logging.getLogger(__name__)


class AppServiceNamespaces:
    """The registry's exclusivity checks, and the queries to the services owning a name."""

    def __init__(self, registry: AppServiceRegistry, client: AppServiceClient) -> None:
        self._registry = registry
        self._client = client

    def check_alias_creation(self, alias: str, creator: str | None) -> None:
        self._registry.check_alias_creation(alias, creator)

    async def query_user(self, user_id: str) -> bool:
        """Did a service owning `user_id` create it when asked?"""
        for registration in self._registry.all:
            if registration.owns_user(user_id) and await self._ask(registration, "users", user_id):
                return True
        return False

    async def query_alias(self, alias: str) -> bool:
        """Did a service owning `alias` create it when asked?"""
        for registration in self._registry.all:
            if registration.owns_alias(alias) and await self._ask(registration, "rooms", alias):
                return True
        return False

    async def _ask(self, registration: AppServiceRegistration, kind: str, name: str) -> bool:
        if registration.url is None:
            return False  # a service that only acts is never asked
        try:
            return await self._client.query(registration, kind, name)
        except Unreachable as exc:
            log.warning(
                "application service %s: query for %s failed: %s", registration.id, name, exc
            )
            return False
