"""Third-party network lookups (spec: client-server-api#third-party-networks), answered by the
bridges that offer each network (application-service-api#third-party-networks).

A registration lists its networks in `protocols`; the server asks the service for each one's
metadata (`GET /_matrix/app/v1/thirdparty/protocol/{protocol}`), and passes a client's
lookups to the services offering the network (`.../location/{protocol}`, `.../user/{protocol}`
with the client's query parameters) or, for the reverse lookups of a room alias or user ID,
to every service offering any network (`.../location?alias=`, `.../user?userid=`). Several
services offering one network: their instances are listed together and their answers
concatenated. A service that cannot be reached or answers badly is logged and left out: the
answer is what the others said (an empty list or `{}`), never a server error. A network no
service offers is 404 `M_NOT_FOUND`, the spec's "the protocol is unknown".
"""

from __future__ import annotations

import logging
from typing import Any

from bastion.errors import Errcode, MatrixError
from bastion.json_types import JsonObject
from bastion.services.appservices.client import AppServiceClient, Refused, Unreachable
from bastion.services.appservices.registration import AppServiceRegistration
from bastion.services.appservices.registry import AppServiceRegistry

log = logging.getLogger(__name__)
BASE = "/_matrix/app/v1/thirdparty"


class ThirdPartyLookups:
    """The lookups, through the registered services."""

    def __init__(self, registry: AppServiceRegistry, client: AppServiceClient) -> None:
        self._registry = registry
        self._client = client

    async def protocols(self) -> dict[str, JsonObject]:
        """`GET /thirdparty/protocols`: every offered network's metadata, by name."""
        names = sorted({p for r in self._offering() for p in r.protocols})
        found: dict[str, JsonObject] = {}
        for name in names:
            metadata = await self._metadata(name)
            if metadata is not None:
                found[name] = metadata
        return found

    async def protocol(self, protocol: str) -> JsonObject:
        """`GET /thirdparty/protocol/{protocol}`; 404 M_NOT_FOUND for a network no service
        offers (or none of those offering it answered)."""
        metadata = await self._metadata(protocol) if self._offering(protocol) else None
        if metadata is None:
            raise _unknown(protocol)
        return metadata

    async def lookup(self, kind: str, protocol: str, fields: dict[str, str]) -> list[JsonObject]:
        """`GET /thirdparty/{location,user}/{protocol}` (`kind`): what the services offering
        the network find for `fields`."""
        offering = self._offering(protocol)
        if not offering:
            raise _unknown(protocol)
        return await self._gathered(offering, f"{BASE}/{kind}/{protocol}", fields)

    async def reverse(self, kind: str, name: str, value: str | None) -> list[JsonObject]:
        """`GET /thirdparty/location?alias=` or `/thirdparty/user?userid=` (`name`): the
        third-party locations of a room alias or users of a user ID the services know."""
        if not value:
            raise MatrixError(400, Errcode.MISSING_PARAM, f"missing query parameter {name!r}")
        return await self._gathered(self._offering(), f"{BASE}/{kind}", {name: value})

    def _offering(self, protocol: str | None = None) -> list[AppServiceRegistration]:
        return [
            r
            for r in self._registry.all
            if r.url is not None and r.protocols and (protocol is None or protocol in r.protocols)
        ]

    async def _metadata(self, protocol: str) -> JsonObject | None:
        """The network's metadata, the instances of every service offering it together, each
        given the `instance_id` the spec has the homeserver add (v1.14): unique here because
        it is the service's ID and the instance's `network_id` (`id|network_id`, as Synapse
        spells it). An instance without a `network_id` (the application-service API requires
        one) is left out: it could not be told apart."""
        merged: JsonObject | None = None
        for registration in self._offering(protocol):
            answer = await self._ask(registration, f"{BASE}/protocol/{protocol}", {})
            if not isinstance(answer, dict):
                continue
            if merged is None:
                merged = dict(answer)
                merged["instances"] = []
            instances = answer.get("instances")
            if isinstance(instances, list):
                merged["instances"] += [
                    i | {"instance_id": f"{registration.id}|{i['network_id']}"}
                    for i in instances
                    if isinstance(i, dict) and isinstance(i.get("network_id"), str)
                ]
        return merged

    async def _gathered(
        self, offering: list[AppServiceRegistration], path: str, params: dict[str, str]
    ) -> list[JsonObject]:
        found: list[JsonObject] = []
        for registration in offering:
            answer = await self._ask(registration, path, params)
            if isinstance(answer, list):
                found += [item for item in answer if isinstance(item, dict)]
        return found

    async def _ask(
        self, registration: AppServiceRegistration, path: str, params: dict[str, str]
    ) -> Any:
        try:
            return await self._client.get_json(registration, path, params)
        except (Unreachable, Refused) as exc:
            log.warning("application service %s: %s failed: %s", registration.id, path, exc)
            return None


def _unknown(protocol: str) -> MatrixError:
    return MatrixError(404, Errcode.NOT_FOUND, f"unknown third-party protocol {protocol!r}")
