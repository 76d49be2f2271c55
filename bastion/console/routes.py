"""THE list of console pages: each page module's `ROUTES`, listed once, in one place.

To add a page module: write `bastion/console/<area>.py` (or a package) with
`ROUTES: list[BaseRoute]`, and add it to `PAGE_MODULES` below. Paths are relative to /admin.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from bastion.console import (
    audit,
    dashboard,
    dlp_reviews,
    exports,
    holds,
    integrations,
    people,
    policy,
    reports,
    rooms,
    signin,
    sso_signin,
    storage,
)

STATIC_DIR = Path(__file__).parent / "static"

PAGE_MODULES: tuple[ModuleType, ...] = (
    signin,
    sso_signin,
    dashboard,
    people,
    rooms,
    reports,
    policy,
    holds,
    exports,
    dlp_reviews,
    audit,
    integrations,
    storage,
)


def console_routes() -> list[BaseRoute]:
    """Every page's routes, and the static files under /admin/static."""
    routes: list[BaseRoute] = []
    for module in PAGE_MODULES:
        routes.extend(module.ROUTES)
    routes.append(Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"))
    return routes
