"""Assembles the Starlette routes from each area's ROUTES list.

Client endpoints are served under `/_matrix/client/v3` and, for older clients, `/_matrix/client/r0`;
endpoints the spec introduced as v1 under `/_matrix/client/v1`. Media uploads and the deprecated
media endpoints keep their own `/_matrix/media` paths (api/media.py).
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from bastion.api import media
from bastion.api.admin import client_lock, client_suspend
from bastion.api.admin.routes import admin_routes
from bastion.api.admin.synapse import user_info
from bastion.api.client import (
    account,
    account_data,
    appservice,
    devices,
    ephemeral,
    key_backup,
    keys,
    login,
    mutual_rooms,
    openid,
    peeking,
    presence,
    profile,
    push_rules,
    pushers,
    register,
    relations,
    reports,
    room_aliases,
    room_directory,
    room_events,
    room_upgrade,
    rooms,
    search,
    sliding_sync,
    spaces,
    sync,
    tags,
    thirdparty,
    threepids,
    user_directory,
    versions,
    voip,
)
from bastion.api.scim import scim_routes
from bastion.api.sso import routes as sso

CLIENT_PREFIXES = ("/_matrix/client/v3", "/_matrix/client/r0")
V1_PREFIX = "/_matrix/client/v1"

_CLIENT_AREAS: list[list[Route]] = [
    versions.ROUTES,
    login.ROUTES,
    sso.ROUTES,  # /login/sso/redirect
    register.ROUTES,
    account.ROUTES,
    threepids.ROUTES,
    devices.ROUTES,
    profile.ROUTES,
    rooms.ROUTES,
    room_events.ROUTES,
    peeking.ROUTES,  # room previews: initialSync, /events?room_id=
    search.ROUTES,
    room_aliases.ROUTES,
    sync.ROUTES,
    account_data.ROUTES,
    keys.ROUTES,
    ephemeral.ROUTES,
    key_backup.ROUTES,
    presence.ROUTES,
    tags.ROUTES,
    user_directory.ROUTES,
    room_directory.ROUTES,
    push_rules.ROUTES,
    pushers.ROUTES,
    voip.ROUTES,
    openid.ROUTES,
    room_upgrade.ROUTES,
    thirdparty.ROUTES,
    reports.ROUTES,
    user_info.CLIENT_ROUTES,  # the spec's admin whois
]
_V1_AREAS: list[list[Route]] = [
    versions.V1_ROUTES,  # auth_metadata: 404 until next-generation auth exists
    login.V1_ROUTES,  # login/get_token
    room_directory.V1_ROUTES,
    register.V1_ROUTES,
    room_events.V1_ROUTES,
    media.V1_ROUTES,
    relations.V1_ROUTES,
    client_lock.V1_ROUTES,  # the spec's admin account locking
    client_suspend.V1_ROUTES,  # and suspension
    spaces.V1_ROUTES,
    mutual_rooms.V1_ROUTES,
    appservice.V1_ROUTES,
]


def _prefixed(prefix: str, routes: list[Route]) -> list[BaseRoute]:
    return [
        Route(prefix + route.path, route.endpoint, methods=sorted(route.methods or ()))
        for route in routes
    ]


def build_routes() -> list[BaseRoute]:
    """Every route the server answers. Starlette tries them in order, a regular expression
    each, so the v3 /sync every client repeats comes first (no other route matches its path)."""
    hot = _prefixed(CLIENT_PREFIXES[0], [r for r in sync.ROUTES if r.path == "/sync"])
    routes: list[BaseRoute] = [
        *hot, *versions.UNVERSIONED_ROUTES, *media.MEDIA_ROUTES, *admin_routes(), *scim_routes(),
        *sliding_sync.ROUTES,  # its own unstable and v4 paths
        *mutual_rooms.ROUTES,  # the unstable path js-sdk calls
        *openid.USERINFO_ROUTES,  # the one federation path (third parties check tokens)
        *sso.CALLBACK_ROUTES,  # the identity providers' redirect back
        *voip.RTC_ROUTES,  # MSC4143's unstable path
    ]  # fmt: skip
    for prefix in CLIENT_PREFIXES:
        for area in _CLIENT_AREAS:
            routes += [route for route in _prefixed(prefix, area) if route not in hot]
    for area in _V1_AREAS:
        routes += _prefixed(V1_PREFIX, area)
    return routes
