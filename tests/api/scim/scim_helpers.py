"""What the SCIM tests share: a token, raw SCIM requests over `hs.http`, a scim2-client
speaking to the in-process app, and a synchronous scim2-client (for scim2-tester) whose
requests run on the test's event loop from a worker thread."""

from __future__ import annotations

import asyncio
import json
from typing import Any, TypeVar, cast

import httpx
from scim2_client import BaseSyncSCIMClient
from scim2_client.engines.asgi import ASGISCIMClient
from scim2_models import ListResponse, Resource, ScimFilter, SearchRequest
from typing_extensions import override

from bastion.app.asgi import create_app
from bastion.services.principal import Operator
from tests.conftest import Homeserver

OPERATOR = Operator("test")
BASE = "http://bastion.test/scim/v2"
SCIM_JSON = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


async def scim_token(hs: Homeserver, name: str = "okta") -> str:
    """Issue a SCIM token the way `bastion scim-token create` does."""
    return await hs.runtime.services.scim.tokens.create(OPERATOR, name)


class Scim:
    """Raw SCIM requests with a bearer token (for the shapes IdPs really send)."""

    def __init__(self, hs: Homeserver, token: str) -> None:
        self.http = hs.http
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}

    async def request(self, method: str, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return await self.http.request(
            method, f"/scim/v2{path}", json=body, headers=self.headers, **kw
        )

    async def create_user(self, user_name: str, **fields: Any) -> dict[str, Any]:
        resp = await self.request(
            "POST", "/Users", {"schemas": [USER], "userName": user_name, **fields}
        )
        assert resp.status_code == 201, resp.text
        body: dict[str, Any] = resp.json()
        return body

    async def patch(self, path: str, *operations: dict[str, Any]) -> httpx.Response:
        return await self.request(
            "PATCH", path, {"schemas": [PATCH_OP], "Operations": list(operations)}
        )


ResourceT = TypeVar("ResourceT", bound=Resource[Any])


async def created(client: ASGISCIMClient, resource: ResourceT) -> ResourceT:
    """POST a resource with scim2-client; the created resource (the test fails otherwise)."""
    result: Any = await client.create(resource)
    assert isinstance(result, Resource), result  # not an Error (nor a raw dict)
    return cast("ResourceT", result)  # the model the client discovered, a sibling of ResourceT


async def fetched(client: ASGISCIMClient, model: type[ResourceT], scim_id: str) -> ResourceT:
    """GET one resource with scim2-client."""
    result: Any = await client.query(model, scim_id)
    assert isinstance(result, Resource), result  # not an Error (nor a raw dict)
    return cast("ResourceT", result)  # the model the client discovered, a sibling of ResourceT


async def searched(
    client: ASGISCIMClient,
    model: type[ResourceT],
    scim_filter: str | None = None,
    *,
    start_index: int | None = None,
    count: int | None = None,
) -> ListResponse[ResourceT]:
    """GET a list with scim2-client (`filter`, `startIndex`, `count`)."""
    params = SearchRequest[Any](
        filter=ScimFilter(scim_filter) if scim_filter else None,
        start_index=start_index,
        count=count,
    )
    result: Any = await client.query(model, query_parameters=params)
    assert isinstance(result, ListResponse), result
    return result


def asgi_scim_client(hs: Homeserver, token: str) -> ASGISCIMClient:
    """A scim2-client speaking to the in-process app."""
    return ASGISCIMClient(
        create_app(hs.runtime), base_url=BASE, headers={"Authorization": f"Bearer {token}"}
    )


class _LoopTransport(httpx.BaseTransport):
    """Sends each request to the ASGI app on `loop` (the test's) and waits for the answer."""

    def __init__(self, app: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._loop = loop

    @override
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def send() -> httpx.Response:
            request.stream = httpx.ByteStream(request.read())
            response = await self._inner.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return asyncio.run_coroutine_threadsafe(send(), self._loop).result(timeout=60)


class ThreadedScimClient(BaseSyncSCIMClient):
    """A synchronous scim2-client for scim2-tester, used from a worker thread."""

    def __init__(self, hs: Homeserver, token: str, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.client = httpx.Client(
            transport=_LoopTransport(create_app(hs.runtime), loop),
            base_url=BASE,
            headers={"Authorization": f"Bearer {token}"},
        )

    @override
    def _stays_under_base_url(self, endpoint: str) -> bool:
        return endpoint.startswith((BASE, "/")) or "://" not in endpoint

    @override
    def _parse_json(self, response: Any) -> Any:
        return response.json()

    @override
    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, url, **kwargs)


async def audit_records(hs: Homeserver, action: str) -> list[dict[str, Any]]:
    """The audit log's records of `action`, oldest first."""
    rows = await hs.runtime.db.fetch_all(
        "SELECT actor_kind, actor, target, outcome, details FROM audit_log"
        " WHERE action = ? ORDER BY seq",
        action,
    )
    return [
        {"kind": r[0], "actor": r[1], "target": r[2], "outcome": r[3], "details": json.loads(r[4])}
        for r in rows
    ]
