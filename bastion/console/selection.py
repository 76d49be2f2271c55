"""What the compliance pages select with: lists of IDs and ranges of days, read from forms.

A list of IDs is typed one a line (or separated by spaces or commas); a day is an HTML
`<input type="date">` value, `YYYY-MM-DD`, taken in UTC: a range's start is the first
millisecond of its first day and its end the first millisecond after its last day, so "from
2026-01-01 to 2026-01-31" covers all of January. A value that is not a date is an
`M_INVALID_PARAM` MatrixError, which the pages show like a service's refusal.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from bastion.errors import Errcode, MatrixError

_SEPARATORS = re.compile(r"[\s,]+")
_DAY_MS = 86_400_000


def id_list(text: str) -> list[str]:
    """The IDs in a textarea, in order, without blanks or repeats."""
    return list(dict.fromkeys(part for part in _SEPARATORS.split(text) if part))


def parse_day(value: str, name: str) -> date:
    """The day form field `name` holds; M_INVALID_PARAM when it is not `YYYY-MM-DD`."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"{name}: not a date: {value!r}") from None


def midnight_ms(day: date) -> int:
    """The first millisecond of `day` (UTC)."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def _day(value: str, name: str) -> int:
    return midnight_ms(parse_day(value, name))


def day_start_ms(value: str, name: str) -> int | None:
    """The first millisecond of day `value` (UTC), or None when the field is empty."""
    return _day(value.strip(), name) if value.strip() else None


def day_end_ms(value: str, name: str) -> int | None:
    """The first millisecond after day `value` (UTC), or None when the field is empty."""
    return _day(value.strip(), name) + _DAY_MS if value.strip() else None
