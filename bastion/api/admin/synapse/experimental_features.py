"""Synapse's Experimental Features API (`GET`/`PUT /_synapse/admin/v1/experimental_features/
{userId}`): which of Synapse's per-account features an account has.

Bastion turns none of them on or off per account: each is on for everyone or not offered.
Simplified sliding sync (`msc3575`) and `state_after` in /sync (`msc4222`) are on for every
account; remotely toggling another client's push notifications (`msc3881`) is not offered. So
GET answers those facts, and PUT accepts a feature set to what it already is (the admin UIs'
forms send every feature) and refuses with 400 `M_INVALID_PARAM` to change one, naming why,
rather than pretend to store a setting nothing reads. Unknown feature names are 400, as in
Synapse.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin
from bastion.api.bodies import decode_object
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError
from bastion.ids import UserID

# Synapse's features, and whether Bastion offers each to every account.
FEATURES = {"msc3575": True, "msc3881": False, "msc4222": True}


def _local_user(request: Request) -> str:
    user_id: str = request.path_params["userId"]
    if UserID.parse(user_id).server_name != services_of(request).info.server_name:
        raise MatrixError(
            400, Errcode.INVALID_PARAM, "User must be local to check experimental features."
        )
    return user_id


async def get_features(request: Request) -> Response:
    """GET /_synapse/admin/v1/experimental_features/{userId}"""
    await require_admin(request)
    _local_user(request)
    return JsonResponse({"features": dict(FEATURES)})


async def put_features(request: Request) -> Response:
    """PUT /_synapse/admin/v1/experimental_features/{userId}"""
    await require_admin(request)
    _local_user(request)
    features: Any = (await decode_object(request)).get("features")
    if not features or not isinstance(features, dict):
        raise MatrixError(400, Errcode.BAD_JSON, "You must provide features to set.")
    for feature, enabled in features.items():
        if feature not in FEATURES:
            raise MatrixError(
                400,
                Errcode.INVALID_PARAM,
                f"{feature!r} is not recognised as a valid experimental feature.",
            )
        if not isinstance(enabled, bool):
            raise MatrixError(400, Errcode.BAD_JSON, f"{feature} must be true or false")
        if enabled != FEATURES[feature]:
            state = "on for every account" if FEATURES[feature] else "not offered"
            raise MatrixError(
                400,
                Errcode.INVALID_PARAM,
                f"{feature} is {state} on this server; it cannot be set per account",
            )
    return JsonResponse({})


ROUTES = [
    Route("/v1/experimental_features/{userId}", get_features, methods=["GET"]),
    Route("/v1/experimental_features/{userId}", put_features, methods=["PUT"]),
]
