"""Bastion's own admin API under `/_bastion/admin/v1`.

Each module here lists its `ROUTES` (paths relative to the prefix) and describes them in
`OPENAPI`; `AREAS` below names every module, and both the router (api/admin/routes.py) and the
OpenAPI document (openapi.py) read it. Add a module's name to `AREAS` when you add the module.
"""

from __future__ import annotations

from types import ModuleType

from bastion.api.admin.own import (
    appservices,
    audit,
    dlp,
    exports,
    groups,
    holds,
    moderation,
    offboarding,
    openapi,
    policy,
    reports,
    retention,
    roles,
    rooms,
    scim,
    users,
)

AREAS: list[ModuleType] = [
    openapi,
    audit,
    policy,
    users,
    reports,
    moderation,
    offboarding,
    scim,
    groups,
    rooms,
    holds,
    retention,
    roles,
    dlp,
    exports,
    appservices,
]
