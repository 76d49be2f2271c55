"""Push rules (spec: client-server-api#push-rules-api) and the notifications list."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_body, decode_object
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse, empty
from bastion.errors import Errcode, MatrixError
from bastion.events.typed_json import NonNegativeInt


class EnabledBody(msgspec.Struct, frozen=True):
    """Body of `PUT .../enabled`."""

    enabled: bool


class ActionsBody(msgspec.Struct, frozen=True):
    """Body of `PUT .../actions`."""

    actions: list[str | dict[str, object]]


class NotificationsQuery(msgspec.Struct, frozen=True):
    """Query of `GET /notifications`."""

    from_: str | None = msgspec.field(default=None, name="from")
    limit: NonNegativeInt | None = None
    only: str | None = None


async def get_all(request: Request) -> Response:
    """GET /_matrix/client/v3/pushrules/"""
    requester = await require_requester(request)
    return JsonResponse(await services_of(request).push_rules.get_all(requester))


async def get_global(request: Request) -> Response:
    """GET /_matrix/client/v3/pushrules/global/"""
    requester = await require_requester(request)
    rules = await services_of(request).push_rules.get_all(requester)
    return JsonResponse(rules["global"])


async def rule(request: Request) -> Response:
    """GET, PUT, DELETE /_matrix/client/v3/pushrules/global/{kind}/{ruleId}"""
    requester = await require_requester(request)
    service = services_of(request).push_rules
    kind, rule_id = request.path_params["kind"], request.path_params["ruleId"]
    if request.method == "GET":
        return JsonResponse(await service.get_rule(requester, kind, rule_id))
    if request.method == "DELETE":
        await service.delete_rule(requester, kind, rule_id)
        return empty()
    body = await decode_object(request)
    q = request.query_params
    await service.put_rule(
        requester, kind, rule_id, body, before=q.get("before"), after=q.get("after")
    )
    return empty()


async def enabled(request: Request) -> Response:
    """GET, PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/enabled"""
    return await _attribute(request, "enabled", EnabledBody)


async def actions(request: Request) -> Response:
    """GET, PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/actions"""
    return await _attribute(request, "actions", ActionsBody)


async def _attribute(
    request: Request, name: str, body_type: type[EnabledBody] | type[ActionsBody]
) -> Response:
    """Read or set one attribute (`enabled` or `actions`) of a rule."""
    requester = await require_requester(request)
    service = services_of(request).push_rules
    kind, rule_id = request.path_params["kind"], request.path_params["ruleId"]
    if request.method == "GET":
        found = await service.get_rule(requester, kind, rule_id)
        return JsonResponse({name: found[name]})
    body = await decode_body(request, body_type)
    if isinstance(body, EnabledBody):
        await service.set_enabled(requester, kind, rule_id, body.enabled)
    else:
        await service.set_actions(requester, kind, rule_id, body.actions)
    return empty()


async def notifications(request: Request) -> Response:
    """GET /_matrix/client/v3/notifications"""
    requester = await require_requester(request)
    try:
        query = msgspec.convert(dict(request.query_params), NotificationsQuery, strict=False)
    except msgspec.ValidationError as exc:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"invalid query parameter: {exc}") from exc
    page = await services_of(request).notifications.page(
        requester, from_token=query.from_, limit=query.limit, only=query.only
    )
    return JsonResponse(page)


_RULE = "/pushrules/global/{kind}/{ruleId}"
ROUTES = [
    Route("/pushrules/", get_all, methods=["GET"]),
    Route("/pushrules", get_all, methods=["GET"]),
    Route("/pushrules/global/", get_global, methods=["GET"]),
    Route("/pushrules/global", get_global, methods=["GET"]),
    Route(_RULE, rule, methods=["GET", "PUT", "DELETE"]),
    Route(_RULE + "/enabled", enabled, methods=["GET", "PUT"]),
    Route(_RULE + "/actions", actions, methods=["GET", "PUT"]),
    Route("/notifications", notifications, methods=["GET"]),
]
