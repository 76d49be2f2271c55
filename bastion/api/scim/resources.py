"""SCIM `/Users` and `/Groups` (RFC 7644 §3): one handler per method, the same for both
resource types; the service does the work and the audit, this module only shapes HTTP."""

from __future__ import annotations

from typing import Any, Protocol

from scim2_models import Context, Group, ListResponse, Resource, SearchRequest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.context import services_of
from bastion.api.scim.responses import (
    ScimResponse,
    base_url,
    json_body,
    resource_body,
    scim_endpoint,
    search_request,
)
from bastion.services.principal import ScimClient
from bastion.services.scim.description import MAX_RESULTS, PROVIDER, UserResource
from bastion.services.scim.listing import Page


class _Operations(Protocol):
    """What ScimUsers and ScimGroups both offer."""

    async def get(self, client: ScimClient, scim_id: str, /) -> Any: ...
    async def list(
        self, client: ScimClient, filter_text: str | None, start_index: int, count: int, /
    ) -> Page[Any]: ...
    async def create(self, client: ScimClient, body: dict[str, Any], /) -> Any: ...
    async def replace(self, client: ScimClient, scim_id: str, body: dict[str, Any], /) -> Any: ...
    async def patch(self, client: ScimClient, scim_id: str, body: dict[str, Any], /) -> Any: ...
    async def delete(self, client: ScimClient, scim_id: str, /) -> None: ...


def _endpoint(request: Request) -> str:
    return "Users" if "/Users" in request.url.path else "Groups"


def _operations(request: Request) -> _Operations:
    scim = services_of(request).scim
    return scim.users if _endpoint(request) == "Users" else scim.groups


def _location(request: Request, resource: Resource[Any]) -> str:
    return f"{base_url(request)}/{_endpoint(request)}/{resource.id}"


def _one(
    request: Request, resource: Resource[Any], params: SearchRequest[Any] | None = None
) -> Response:
    return ScimResponse(resource_body(resource, _location(request, resource), params))


@scim_endpoint
async def list_resources(request: Request, client: ScimClient) -> Response:
    """GET /scim/v2/Users and /scim/v2/Groups (filter, startIndex, count)"""
    return await _listing(request, client, search_request(request))


@scim_endpoint
async def search_resources(request: Request, client: ScimClient) -> Response:
    """POST /scim/v2/Users/.search and /scim/v2/Groups/.search (RFC 7644 §3.4.3)"""
    with PROVIDER:
        params = SearchRequest[Any].model_validate(await json_body(request))
    return await _listing(request, client, params)


@scim_endpoint
async def search_everything(request: Request, client: ScimClient) -> Response:
    """POST /scim/v2/.search: users and groups (RFC 7644 §3.4.3, from the service root)"""
    with PROVIDER:
        params = SearchRequest[Any].model_validate(await json_body(request))
    scim, filter_text = services_of(request).scim, str(params.filter) if params.filter else None
    users = await scim.users.list(client, filter_text, 1, MAX_RESULTS)
    groups = await scim.groups.list(client, filter_text, 1, MAX_RESULTS)
    found: list[Any] = [*users.resources, *groups.resources]
    start = max(params.start_index or 1, 1)
    page = found[start - 1 : start - 1 + min(max(params.count or MAX_RESULTS, 0), MAX_RESULTS)]
    listing = ListResponse[UserResource | Group](
        total_results=users.total + groups.total,
        start_index=start,
        items_per_page=len(page),
        resources=page,
    )
    body = listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=params)
    return ScimResponse(body)


async def _listing(request: Request, client: ScimClient, params: SearchRequest[Any]) -> Response:
    count = params.count if params.count is not None else 100
    filter_text = str(params.filter) if params.filter else None
    page = await _operations(request).list(client, filter_text, params.start_index or 1, count)
    for resource in page.resources:
        resource.meta.location = _location(request, resource)
    model = UserResource if _endpoint(request) == "Users" else Group
    listing = ListResponse[model](  # type: ignore[valid-type]  # chosen at run time
        total_results=page.total,
        start_index=page.start_index,
        items_per_page=len(page.resources),
        resources=list(page.resources),
    )
    body = listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=params)
    return ScimResponse(body)


@scim_endpoint
async def get_resource(request: Request, client: ScimClient) -> Response:
    """GET /scim/v2/Users/{id} and /scim/v2/Groups/{id}"""
    params = search_request(request)
    resource = await _operations(request).get(client, request.path_params["id"])
    return _one(request, resource, params)


@scim_endpoint
async def create_resource(request: Request, client: ScimClient) -> Response:
    """POST /scim/v2/Users and /scim/v2/Groups"""
    resource = await _operations(request).create(client, await json_body(request))
    location = _location(request, resource)
    body = resource_body(resource, location, created=True)
    return ScimResponse(body, 201, {"Location": location})


@scim_endpoint
async def replace_resource(request: Request, client: ScimClient) -> Response:
    """PUT /scim/v2/Users/{id} and /scim/v2/Groups/{id}"""
    body = await json_body(request)
    resource = await _operations(request).replace(client, request.path_params["id"], body)
    return _one(request, resource)


@scim_endpoint
async def patch_resource(request: Request, client: ScimClient) -> Response:
    """PATCH /scim/v2/Users/{id} and /scim/v2/Groups/{id}"""
    body = await json_body(request)
    resource = await _operations(request).patch(client, request.path_params["id"], body)
    return _one(request, resource)


@scim_endpoint
async def delete_resource(request: Request, client: ScimClient) -> Response:
    """DELETE /scim/v2/Users/{id} and /scim/v2/Groups/{id}"""
    await _operations(request).delete(client, request.path_params["id"])
    return Response(status_code=204)


ROUTES = [
    Route("/.search", search_everything, methods=["POST"]),
    *(
        route
        for endpoint in ("/Users", "/Groups")
        for route in (
            Route(endpoint + "/.search", search_resources, methods=["POST"]),
            Route(endpoint, list_resources, methods=["GET"]),
            Route(endpoint, create_resource, methods=["POST"]),
            Route(endpoint + "/{id}", get_resource, methods=["GET"]),
            Route(endpoint + "/{id}", replace_resource, methods=["PUT"]),
            Route(endpoint + "/{id}", patch_resource, methods=["PATCH"]),
            Route(endpoint + "/{id}", delete_resource, methods=["DELETE"]),
        )
    ),
]
