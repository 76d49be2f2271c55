"""The dashboard's figures.

Issue #16: "Dashboard: people, active in the last 7/30 days, rooms, messages per day (a small
chart, server-rendered SVG), open reports, DLP hits, rooms without an admin, recent audit
entries."
"""

from __future__ import annotations

from bastion.console.dashboard import chart_bars
from bastion.services.console.dashboard import DAY_MS, DayCount
from tests.conftest import OPERATOR, Homeserver
from tests.console.client import ConsoleClient


async def test_the_dashboard_counts(hs: Homeserver, console: ConsoleClient) -> None:
    alice = await hs.register_user("alice")
    room = await alice.create_room()
    await alice.send_text(room, "one")
    await alice.send_text(room, "two")
    page = await console.get("/")
    assert page.status_code == 200
    assert "<svg" in page.text
    assert page.text.count('class="bar"') == 14
    hs.clock.advance(2 * 86400)
    await alice.send_text(room, "three")
    figures = await hs.runtime.services.console_dashboard.dashboard(OPERATOR)
    assert figures.people == 2  # root and alice
    assert figures.active_7_days == 2
    assert figures.active_30_days == 2
    assert figures.rooms == 1
    assert figures.rooms_without_admin == 0
    assert figures.open_reports == 0
    assert figures.dlp_open_reviews == 0
    days = figures.messages_per_day
    assert len(days) == 14
    assert [d.messages for d in days][-3:] == [2, 0, 1]
    assert days[-1].day_ts == hs.clock.now_ms() // DAY_MS * DAY_MS
    assert figures.recent_audit[0].seq > figures.recent_audit[-1].seq
    assert {r.action for r in figures.recent_audit} >= {"console.login", "user.create"}


def test_chart_bars_scale_to_the_busiest_day() -> None:
    bars = chart_bars([DayCount(0, 0), DayCount(DAY_MS, 5), DayCount(2 * DAY_MS, 10)])
    assert [b.height for b in bars] == [1, 65, 130]
    assert bars[0].y + bars[0].height == bars[2].y + bars[2].height  # one baseline
