"""Sending and reading room events: send, state, redact, event, messages, context, members."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_object, decode_optional_object
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError
from bastion.events.filters import RoomEventFilter
from bastion.events.query_params import query_int
from bastion.events.typed_json import decode_as
from bastion.services.rooms.reading import MessagesQuery


def filter_param(request: Request) -> RoomEventFilter:
    """The `filter` query parameter (a RoomEventFilter's JSON), empty when absent."""
    raw = request.query_params.get("filter")
    if not raw:
        return RoomEventFilter()
    return decode_as(raw, RoomEventFilter, what="filter")


def messages_query(request: Request, *, default_dir: str) -> MessagesQuery:
    """The query parameters of a /messages request (Synapse's admin one defaults to `f`)."""
    q = request.query_params
    return MessagesQuery(
        direction=q.get("dir", default_dir),
        from_token=q.get("from"),
        to_token=q.get("to"),
        limit=query_int(q, "limit"),
        filter=filter_param(request),
    )


async def send_event(request: Request) -> Response:
    """PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}"""
    requester = await require_requester(request)
    content = await decode_object(request)
    p = request.path_params
    messages = services_of(request).messages
    ts = messages.massaged_ts(requester, request.query_params.get("ts"))
    event_id = await messages.send(
        requester, p["roomId"], p["eventType"], content, p["txnId"], ts=ts
    )
    return JsonResponse({"event_id": event_id})


async def redact_event(request: Request) -> Response:
    """PUT /_matrix/client/v3/rooms/{roomId}/redact/{eventId}/{txnId}"""
    requester = await require_requester(request)
    body = await decode_optional_object(request)
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise MatrixError(400, Errcode.BAD_JSON, "reason must be a string")
    p = request.path_params
    messages = services_of(request).messages
    event_id = await messages.redact(requester, p["roomId"], p["eventId"], p["txnId"], reason)
    return JsonResponse({"event_id": event_id})


async def put_state(request: Request) -> Response:
    """PUT /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}"""
    requester = await require_requester(request)
    content = await decode_object(request)
    p = request.path_params
    messages = services_of(request).messages
    state_key = p.get("stateKey", "")
    ts = messages.massaged_ts(requester, request.query_params.get("ts"))
    event_id = await messages.set_state(
        requester, p["roomId"], p["eventType"], state_key, content, ts=ts
    )
    return JsonResponse({"event_id": event_id})


async def get_state_event(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}"""
    requester = await require_requester(request)
    p = request.path_params
    reader = services_of(request).reader
    event = await reader.state_event(requester, p["roomId"], p["eventType"], p.get("stateKey", ""))
    if request.query_params.get("format") == "event":
        return JsonResponse(await reader.format(event, requester))
    return JsonResponse(event.content)


async def get_state(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/state"""
    requester = await require_requester(request)
    return JsonResponse(
        await services_of(request).reader.state(requester, request.path_params["roomId"])
    )


async def get_event(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/event/{eventId}"""
    requester = await require_requester(request)
    p = request.path_params
    return JsonResponse(
        await services_of(request).reader.get_event(requester, p["roomId"], p["eventId"])
    )


async def get_event_by_id(request: Request) -> Response:
    """GET /_matrix/client/v3/events/{eventId} (deprecated: the room-less form of the above)"""
    requester = await require_requester(request)
    return JsonResponse(
        await services_of(request).reader.get_event_by_id(requester, request.path_params["eventId"])
    )


async def messages(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/messages"""
    requester = await require_requester(request)
    query = messages_query(request, default_dir="b")
    return JsonResponse(
        await services_of(request).reader.messages(requester, request.path_params["roomId"], query)
    )


async def context(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/context/{eventId}"""
    requester = await require_requester(request)
    p = request.path_params
    result = await services_of(request).reader.context(
        requester,
        p["roomId"],
        p["eventId"],
        limit=query_int(request.query_params, "limit"),
        f=filter_param(request),
    )
    return JsonResponse(result)


async def members(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/members"""
    requester = await require_requester(request)
    q = request.query_params
    chunk = await services_of(request).reader.members(
        requester,
        request.path_params["roomId"],
        at=q.get("at"),
        membership=q.get("membership"),
        not_membership=q.get("not_membership"),
    )
    return JsonResponse({"chunk": chunk})


async def joined_members(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/joined_members"""
    requester = await require_requester(request)
    joined = await services_of(request).reader.joined_members(
        requester, request.path_params["roomId"]
    )
    return JsonResponse({"joined": joined})


async def timestamp_to_event(request: Request) -> Response:
    """GET /_matrix/client/v1/rooms/{roomId}/timestamp_to_event"""
    requester = await require_requester(request)
    ts, direction = time_query(request)
    reader = services_of(request).reader
    event = await reader.event_at_time(requester, request.path_params["roomId"], ts, direction)
    return JsonResponse({"event_id": event.event_id, "origin_server_ts": event.origin_server_ts})


def time_query(request: Request) -> tuple[int, str]:
    """`ts` (required) and `dir` (default `f`) of a timestamp_to_event request."""
    ts = query_int(request.query_params, "ts")
    if ts is None:
        raise MatrixError(400, Errcode.MISSING_PARAM, "ts is required")
    return ts, request.query_params.get("dir", "f")


ROUTES = [
    Route("/rooms/{roomId}/send/{eventType}/{txnId}", send_event, methods=["PUT"]),
    Route("/rooms/{roomId}/redact/{eventId}/{txnId}", redact_event, methods=["PUT"]),
    Route("/rooms/{roomId}/state", get_state, methods=["GET"]),
    Route("/rooms/{roomId}/state/{eventType}", get_state_event, methods=["GET"]),
    Route("/rooms/{roomId}/state/{eventType}", put_state, methods=["PUT"]),
    Route("/rooms/{roomId}/state/{eventType}/{stateKey:path}", get_state_event, methods=["GET"]),
    Route("/rooms/{roomId}/state/{eventType}/{stateKey:path}", put_state, methods=["PUT"]),
    Route("/rooms/{roomId}/event/{eventId}", get_event, methods=["GET"]),
    Route("/events/{eventId}", get_event_by_id, methods=["GET"]),
    Route("/rooms/{roomId}/messages", messages, methods=["GET"]),
    Route("/rooms/{roomId}/context/{eventId}", context, methods=["GET"]),
    Route("/rooms/{roomId}/members", members, methods=["GET"]),
    Route("/rooms/{roomId}/joined_members", joined_members, methods=["GET"]),
]
V1_ROUTES = [Route("/rooms/{roomId}/timestamp_to_event", timestamp_to_event, methods=["GET"])]
