"""The room inventory as a file an organisation keeps in Excel: CSV or XLSX.

What must stay true:
- Text survives intact in any script (Arabic, Polish): CSV is UTF-8 with a byte-order mark,
  which is what makes Excel read it as UTF-8 rather than the local code page; XLSX stores
  strings as Unicode, and every text cell reads in the direction of its own content (Excel's
  "context" reading order), so an Arabic name is laid out right to left in a left-to-right
  sheet; `rtl=True` makes the whole sheet right to left (columns from the right).
- No cell is a formula: a value starting with `=`, `+`, `-`, `@`, a tab or a carriage return is
  prefixed with `'` (OWASP's CSV-injection advice), in both formats, since a room name is
  chosen by any user and an admin opens the file.
- Times are UTC (the header says so).

The export is audited (`room.export`, with the format, filters and row count): it copies the
organisation's room list out of the server.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from datetime import UTC, datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from bastion.errors import Errcode, MatrixError
from bastion.services.admin.room_summaries import RoomSummary
from bastion.services.admin.rooms import InventoryQuery, RoomAdminService
from bastion.services.audit.trail import AuditTrail
from bastion.services.principal import Principal, log_admin_action

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
HEADER = (
    "room_id", "name", "topic", "creator", "members", "admins", "encryption", "join_rule",
    "created (UTC)", "last activity (UTC)",
)  # fmt: skip
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_Cell = str | int | datetime | None


def neutralise(text: str) -> str:
    """`text`, made inert if a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _time(ts: int | None) -> datetime | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts / 1000, tz=UTC).replace(tzinfo=None)


def _cells(room: RoomSummary) -> list[_Cell]:
    text = (
        room.room_id, room.name, room.topic, room.creator, None, ", ".join(room.admins),
        room.encryption, room.join_rules,
    )  # fmt: skip
    cells: list[_Cell] = [neutralise(t) if t else None for t in text]
    cells[4] = room.joined_members
    return [*cells, _time(room.created_ts), _time(room.last_activity_ts)]


def to_csv(rooms: list[RoomSummary]) -> bytes:
    """UTF-8 with a BOM, one header row, ISO 8601 times."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for room in rooms:
        writer.writerow(
            ["" if c is None else c.isoformat() if isinstance(c, datetime) else c
             for c in _cells(room)]
        )  # fmt: skip
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rooms: list[RoomSummary], *, rtl: bool = False) -> bytes:
    """One sheet, "Rooms": a bold header, text cells in their own reading order."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Rooms"
    sheet.sheet_view.rightToLeft = rtl
    sheet.append(list(HEADER))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    context_order = Alignment(readingOrder=0, vertical="top")  # 0: by the cell's content
    for room in rooms:
        sheet.append(_cells(room))
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # stored as a string, never parsed as a formula
                cell.alignment = context_order
            elif isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class RoomExport:
    """Exports the inventory (audited)."""

    def __init__(self, rooms: RoomAdminService, audit: AuditTrail) -> None:
        self._rooms = rooms
        self._audit = audit

    async def export(
        self, actor: Principal, query: InventoryQuery, file_format: str, *, rtl: bool = False
    ) -> bytes:
        """The filtered inventory as `file_format` (csv or xlsx); 400 for another format."""
        actor.require_admin()
        async with self._audit.attempt(actor, "room.export"):
            if file_format not in FORMATS:
                raise MatrixError(
                    400, Errcode.INVALID_PARAM, f"unknown export format {file_format!r}"
                )
            rows = await self._rooms.inventory_rows(actor, query)
            data = to_csv(rows) if file_format == "csv" else to_xlsx(rows, rtl=rtl)
            filters = {k: v for k, v in asdict(query).items() if k not in ("start", "limit")}
            details = {"format": file_format, "rows": len(rows), "filters": filters}
            await self._audit.record_alone(actor, "room.export", None, details)
        log_admin_action(actor, f"exported {len(rows)} rooms as {file_format}")
        return data
