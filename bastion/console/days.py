"""A day an admin types in a console form (`<input type="date">`: YYYY-MM-DD), and the moment
it starts (midnight UTC, in ms), the bound the storage clean-up and a room's history purge take.
A malformed day is a readable refusal (400 M_INVALID_PARAM), never a 500."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bastion.errors import Errcode, MatrixError


def parse_day(text: str) -> date:
    """The day `text` names; 400 M_INVALID_PARAM when it is not YYYY-MM-DD."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise MatrixError(400, Errcode.INVALID_PARAM, "give the date as YYYY-MM-DD") from None


def day_start_ms(day: date) -> int:
    """Midnight UTC at the start of `day`, in milliseconds."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
