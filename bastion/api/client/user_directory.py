"""The user directory: `POST /user_directory/search`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse
from bastion.services.directory.users import UserSearchRequest


async def search_users(request: Request) -> Response:
    """POST /_matrix/client/v3/user_directory/search"""
    requester = await require_requester(request)
    body = await decode_body(request, UserSearchRequest)
    return JsonResponse(await services_of(request).user_directory.search(requester, body))


ROUTES = [Route("/user_directory/search", search_users, methods=["POST"])]
