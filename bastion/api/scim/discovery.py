"""SCIM discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes and Schemas, as
services/scim/description.py describes the service."""

from __future__ import annotations

from typing import Any

from scim2_models import Context, ListResponse, NotFoundException, ResourceType, Schema
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.scim.responses import ScimResponse, base_url, scim_endpoint
from bastion.services.principal import ScimClient
from bastion.services.scim.description import CONFIG, PROVIDER

_QUERY = Context.RESOURCE_QUERY_RESPONSE


def _with_location(item: Schema | ResourceType, url: str) -> dict[str, Any]:
    body: dict[str, Any] = item.model_dump(scim_ctx=_QUERY)
    body.setdefault("meta", {})
    body["meta"].update({"resourceType": type(item).__name__, "location": url})
    return body


@scim_endpoint
async def service_provider_config(request: Request, _client: ScimClient) -> Response:
    """GET /scim/v2/ServiceProviderConfig"""
    body = CONFIG.model_dump(scim_ctx=_QUERY)
    body["meta"] = {
        "resourceType": "ServiceProviderConfig",
        "location": f"{base_url(request)}/ServiceProviderConfig",
    }
    return ScimResponse(body)


def _listing(items: list[Any], endpoint: str, request: Request) -> dict[str, Any]:
    resources = [_with_location(i, f"{base_url(request)}/{endpoint}/{i.id}") for i in items]
    model = Schema if endpoint == "Schemas" else ResourceType
    body: dict[str, Any] = ListResponse[model](  # type: ignore[valid-type]  # one of two
        total_results=len(resources), start_index=1, items_per_page=len(resources)
    ).model_dump(scim_ctx=_QUERY)
    body["Resources"] = resources
    return body


def _one(items: list[Any], wanted: str, endpoint: str, request: Request) -> dict[str, Any]:
    for item in items:
        if item.id == wanted:
            return _with_location(item, f"{base_url(request)}/{endpoint}/{item.id}")
    raise NotFoundException(detail=f"no {endpoint} {wanted!r}")


@scim_endpoint
async def resource_types(request: Request, _client: ScimClient) -> Response:
    """GET /scim/v2/ResourceTypes"""
    return ScimResponse(_listing(list(PROVIDER.resource_types), "ResourceTypes", request))


@scim_endpoint
async def resource_type(request: Request, _client: ScimClient) -> Response:
    """GET /scim/v2/ResourceTypes/{id}"""
    wanted = request.path_params["id"]
    return ScimResponse(_one(list(PROVIDER.resource_types), wanted, "ResourceTypes", request))


@scim_endpoint
async def schemas(request: Request, _client: ScimClient) -> Response:
    """GET /scim/v2/Schemas"""
    return ScimResponse(_listing(list(PROVIDER.schemas), "Schemas", request))


@scim_endpoint
async def schema(request: Request, _client: ScimClient) -> Response:
    """GET /scim/v2/Schemas/{id}"""
    return ScimResponse(_one(list(PROVIDER.schemas), request.path_params["id"], "Schemas", request))


ROUTES = [
    Route("/ServiceProviderConfig", service_provider_config, methods=["GET"]),
    Route("/ResourceTypes", resource_types, methods=["GET"]),
    Route("/ResourceTypes/{id}", resource_type, methods=["GET"]),
    Route("/Schemas", schemas, methods=["GET"]),
    Route("/Schemas/{id}", schema, methods=["GET"]),
]
