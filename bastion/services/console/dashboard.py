"""The console dashboard's figures: the organisation at a glance, for admins.

Counts come from the services that own them where those can count (people, rooms, open reports,
rooms without an admin), and from one aggregate query each otherwise (`DashboardStore`: active
people, messages per day, the DLP review queue). The newest audit records are the last seqs of
the chain (`audit_head.seq` counts every record: seqs are contiguous). Nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.clock import Clock
from bastion.services.admin.rooms import InventoryQuery, RoomAdminService, RoomListQuery
from bastion.services.admin.users import AdminUserService, UserListQuery
from bastion.services.moderation.reports import ReportService
from bastion.services.principal import Principal
from bastion.store.database import Database
from bastion.store.protocols.audit import AuditQuery, AuditRow, AuditStore
from bastion.store.protocols.console import DashboardStore
from bastion.store.protocols.moderation import ReportQuery

DAY_MS = 86_400_000
CHART_DAYS = 14
RECENT_AUDIT = 10


@dataclass(frozen=True, slots=True)
class DayCount:
    """Messages on one UTC day (`day_ts`: its midnight, ms)."""

    day_ts: int
    messages: int


@dataclass(frozen=True, slots=True)
class Dashboard:
    """Everything the dashboard shows."""

    people: int
    active_7_days: int
    active_30_days: int
    rooms: int
    rooms_without_admin: int
    open_reports: int
    dlp_open_reviews: int
    messages_per_day: list[DayCount]  # CHART_DAYS days, oldest first, today last
    recent_audit: list[AuditRow]  # newest first


@dataclass(frozen=True, slots=True)
class DashboardSources:
    """The services and stores the figures come from."""

    users: AdminUserService
    rooms: RoomAdminService
    reports: ReportService
    counts: DashboardStore
    audit: AuditStore


class DashboardService:
    """Reads the dashboard's figures (admins only)."""

    def __init__(self, db: Database, sources: DashboardSources, clock: Clock) -> None:
        self._db, self._sources, self._clock = db, sources, clock

    async def dashboard(self, actor: Principal) -> Dashboard:
        actor.require_admin()
        src, db, now = self._sources, self._db, self._clock.now_ms()
        _, people = await src.users.list_users(actor, UserListQuery(deactivated=False, limit=1))
        rooms = await src.rooms.list_rooms(actor, RoomListQuery(limit=1))
        orphans = await src.rooms.inventory_rows(actor, InventoryQuery(no_admin=True))
        _, open_reports = await src.reports.list(actor, ReportQuery(status="open", limit=1))
        return Dashboard(
            people=people,
            active_7_days=await src.counts.count_active_users(db, now - 7 * DAY_MS),
            active_30_days=await src.counts.count_active_users(db, now - 30 * DAY_MS),
            rooms=rooms.total_rooms,
            rooms_without_admin=len(orphans),
            open_reports=open_reports,
            dlp_open_reviews=await src.counts.count_open_dlp_reviews(db),
            messages_per_day=await self._messages_per_day(now),
            recent_audit=await self._recent_audit(),
        )

    async def _messages_per_day(self, now: int) -> list[DayCount]:
        today = now // DAY_MS
        first = today - CHART_DAYS + 1
        counts = await self._sources.counts.messages_per_day(self._db, first * DAY_MS)
        return [DayCount(day * DAY_MS, counts.get(day, 0)) for day in range(first, today + 1)]

    async def _recent_audit(self) -> list[AuditRow]:
        head, _ = await self._sources.audit.head(self._db)
        query = AuditQuery(after=max(0, head - RECENT_AUDIT), limit=RECENT_AUDIT)
        rows = await self._sources.audit.search(self._db, query)
        return sorted(rows, key=lambda row: row.seq, reverse=True)
