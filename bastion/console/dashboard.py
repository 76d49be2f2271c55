"""The dashboard: the organisation at a glance (GET /admin/).

The messages-per-day chart is an SVG drawn here on the server (no script): one bar per day,
scaled to the busiest day; its numbers are also in a table for screen readers.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bastion.console.pages import render, require_session, services_of
from bastion.services.console.dashboard import DayCount

CHART_WIDTH, CHART_HEIGHT, CHART_BASELINE = 560, 180, 150


@dataclass(frozen=True, slots=True)
class Bar:
    """One day's bar in the SVG's coordinates."""

    x: int
    y: int
    width: int
    height: int
    label_x: int
    day: DayCount


def chart_bars(days: list[DayCount]) -> list[Bar]:
    """Bars for `days`, the highest reaching the top; a day with none is a 1-pixel line."""
    if not days:
        return []
    peak = max(day.messages for day in days) or 1
    slot = CHART_WIDTH // len(days)
    bars = []
    for index, day in enumerate(days):
        height = max(1, round(day.messages / peak * (CHART_BASELINE - 20)))
        x = index * slot + 4
        bars.append(Bar(x, CHART_BASELINE - height, slot - 8, height, x + (slot - 8) // 2, day))
    return bars


async def dashboard(request: Request) -> Response:
    """GET /admin/"""
    session = await require_session(request)
    figures = await services_of(request).console_dashboard.dashboard(session.requester)
    return render(
        request,
        "dashboard.html",
        figures=figures,
        bars=chart_bars(figures.messages_per_day),
        chart=(CHART_WIDTH, CHART_HEIGHT, CHART_BASELINE),
    )


ROUTES: list[BaseRoute] = [Route("/", dashboard, methods=["GET"])]
