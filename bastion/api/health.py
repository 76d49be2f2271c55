"""`GET /health` (liveness) and `GET /ready` (readiness), for load balancers and orchestrators.

Unauthenticated and cheap; never a 500:
- `/health`: the process answers: always 200 `{"status": "ok"}`, touching nothing.
- `/ready`: the dependencies answer: the database (a trivial query) and Redis when configured
  (a PING), each within a short timeout. 200 `{"status": "ready", "checks": {...}}` when all
  pass, else 503 `{"status": "unavailable", "checks": {...}}` with each check's outcome, so the
  failing one is named (`"database": "failed: ..."`). A failure's detail names the exception
  type and message, never a password (URLs are redacted by the probe).

The probes are the app's (app/health.py), reached through `app.state.readiness`, so this module
stays HTTP only.
"""

from __future__ import annotations

from typing import Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

OK = "ok"


class Readiness(Protocol):
    """Checks each dependency; returns a name → `ok` or `failed: <why>` map."""

    async def check(self) -> dict[str, str]:
        """Run every check (bounded in time); never raises."""
        ...


async def health(request: Request) -> JSONResponse:
    """GET /health"""
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


async def ready(request: Request) -> JSONResponse:
    """GET /ready"""
    readiness: Readiness = request.app.state.readiness
    checks = await readiness.check()
    is_ready = all(outcome == OK for outcome in checks.values())
    return JSONResponse(
        {"status": "ready" if is_ready else "unavailable", "checks": checks},
        status_code=200 if is_ready else 503,
        headers={"Cache-Control": "no-store"},
    )


ROUTES: list[BaseRoute] = [
    Route("/health", health, methods=["GET"]),
    Route("/ready", ready, methods=["GET"]),
]
