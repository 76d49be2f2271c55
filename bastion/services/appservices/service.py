"""Application services as the API reaches them: identity, registration, login, ping, status.

The parts live in their own modules (registration.py, registry.py, identity.py, delivery.py,
client.py); this one is what `Services.appservices` is, so handlers need one name.
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.errors import Errcode, MatrixError
from bastion.services.appservices.client import AppServiceClient, Refused, Unreachable
from bastion.services.appservices.delivery import AppServiceDelivery
from bastion.services.appservices.identity import AppServiceIdentities
from bastion.services.appservices.registration import AppServiceRegistration
from bastion.services.appservices.registry import AppServiceRegistry
from bastion.services.appservices.thirdparty import ThirdPartyLookups
from bastion.services.principal import Principal, Requester
from bastion.store.protocols.appservices import AppServiceStream


@dataclass(frozen=True, slots=True)
class AppServiceStatus:
    """One registration as an administrator sees it (never its tokens)."""

    registration: AppServiceRegistration
    stream: AppServiceStream | None


class AppServices:
    """The registered application services (module docstring)."""

    def __init__(
        self,
        identities: AppServiceIdentities,
        delivery: AppServiceDelivery,
        client: AppServiceClient,
    ) -> None:
        self.registry: AppServiceRegistry = identities.registry
        self.delivery = delivery
        self.identities = identities  # acting as users; registering and logging them in
        self.thirdparty = ThirdPartyLookups(identities.registry, client)  # networks they bridge
        self._client = client

    async def ensure_senders(self) -> None:
        """Create each registration's sender (`sender_localpart`) if missing, at start: people
        invite a bridge's bot before the bridge has made a request (audited, the service as
        actor). An existing account is left as it is (one an admin deactivated or locked
        stays so: the service's requests as it are refused). 400 M_EXCLUSIVE, refusing the
        start, when another service's exclusive namespace claims it."""
        for registration in self.registry.all:
            await self.identities.ensure_sender(registration)

    def from_token(self, token: str | None) -> AppServiceRegistration:
        """The registration of an as_token a registration or login presents: 401 otherwise
        (the spec's M_MISSING_TOKEN / M_UNKNOWN_TOKEN)."""
        if token is None:
            raise MatrixError(401, Errcode.MISSING_TOKEN, "Missing application service token")
        registration = self.registry.by_token(token)
        if registration is None:
            raise MatrixError(401, Errcode.UNKNOWN_TOKEN, "Unknown application service token")
        return registration

    async def ping(
        self, requester: Requester, appservice_id: str, transaction_id: str | None
    ) -> int:
        """`POST /_matrix/client/v1/appservice/{appserviceId}/ping`: ask the service to answer
        its own `/_matrix/app/v1/ping`; the round trip in milliseconds. Only the service itself
        may (403 M_FORBIDDEN); 400 M_URL_NOT_SET without a URL; 502 M_CONNECTION_FAILED,
        504 M_CONNECTION_TIMEOUT, 502 M_BAD_STATUS (with the service's status and body)."""
        registration = self.registry.by_id(appservice_id)
        if registration is None or requester.appservice != appservice_id:
            raise MatrixError(
                403, Errcode.FORBIDDEN, "Only the application service itself may ping it"
            )
        if registration.url is None:
            raise MatrixError(400, Errcode.URL_NOT_SET, f"{appservice_id} has no url")
        try:
            return await self._client.ping(registration, transaction_id)
        except Unreachable as exc:
            if exc.timed_out:
                raise MatrixError(504, Errcode.CONNECTION_TIMEOUT, str(exc)) from exc
            raise MatrixError(502, Errcode.CONNECTION_FAILED, str(exc)) from exc
        except Refused as exc:
            raise MatrixError(
                502,
                Errcode.BAD_STATUS,
                f"the application service answered {exc.status}",
                {"status": exc.status, "body": exc.body},
            ) from exc

    async def close(self) -> None:
        """Close the HTTP client (the worker's stop does too; closing twice is harmless)."""
        await self._client.close()

    async def statuses(self, actor: Principal) -> list[AppServiceStatus]:
        """Every registration and how far its transactions are (server admins)."""
        actor.require_admin()
        return [AppServiceStatus(r, await self.delivery.status(r)) for r in self.registry.all]
