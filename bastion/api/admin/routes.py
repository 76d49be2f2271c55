"""Both admin APIs' routes, under their prefixes (each module's paths are relative to them)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from bastion.api.admin.own import AREAS
from bastion.api.admin.synapse import (
    deactivate,
    event_reports,
    experimental_features,
    federation,
    media,
    purge_history,
    register,
    registration_tokens,
    room_reading,
    rooms,
    rooms_admin,
    rooms_delete,
    scheduled_tasks,
    server_notices,
    server_version,
    suspend,
    user_devices,
    user_info,
    user_redact,
    user_settings,
    users,
)

SYNAPSE_PREFIX = "/_synapse/admin"
BASTION_PREFIX = "/_bastion/admin/v1"

# Each entry: one module's ROUTES. Add a module's list here when you add the module.
SYNAPSE_AREAS: list[list[Route]] = [
    event_reports.ROUTES,
    federation.ROUTES,
    experimental_features.ROUTES,
    register.ROUTES,
    server_version.ROUTES,
    rooms_admin.ROUTES,
    room_reading.ROUTES,
    rooms.ROUTES,
    rooms_delete.ROUTES,
    purge_history.ROUTES,
    user_redact.ROUTES,
    scheduled_tasks.ROUTES,
    users.ROUTES,
    user_devices.ROUTES,
    user_info.ROUTES,
    user_settings.ROUTES,
    media.ROUTES,
    registration_tokens.ROUTES,
    server_notices.ROUTES,
    deactivate.ROUTES,
    suspend.ROUTES,
]
BASTION_AREAS: list[list[Route]] = [area.ROUTES for area in AREAS]  # see own/__init__.py


def _under(prefix: str, areas: list[list[Route]]) -> list[BaseRoute]:
    return [
        Route(prefix + route.path, route.endpoint, methods=sorted(route.methods or ()))
        for area in areas
        for route in area
    ]


def admin_routes() -> list[BaseRoute]:
    """Every admin route, both faces."""
    return [*_under(SYNAPSE_PREFIX, SYNAPSE_AREAS), *_under(BASTION_PREFIX, BASTION_AREAS)]
