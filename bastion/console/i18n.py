"""Languages of the console: its catalogs, the language of a request, and locale-aware
formatting.

The gettext catalogs are the `.po` files under `translations/<lang>/LC_MESSAGES/`, compiled in
memory at start-up (bastion/i18n). The language of a request: the `lang` cookie (set by the
switcher on every page), else the session's, else the browser's `Accept-Language`, else English.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from babel.support import Translations
from babel.units import format_unit

from bastion.i18n import languages
from bastion.i18n.languages import (
    DEFAULT_LANGUAGE,
    LANGUAGE_NAMES,
    LANGUAGES,
    choose_language,
    supported,
    text_direction,
)

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "choose_language",
    "format_day",
    "format_day_of_month",
    "format_number",
    "format_size",
    "format_timestamp",
    "load_translations",
    "supported",
    "text_direction",
]

TRANSLATIONS_DIR: Final = Path(__file__).parent / "translations"


def load_translations(language: str) -> Translations:
    """Compile the console's catalog of `language` in memory."""
    return languages.load_translations(TRANSLATIONS_DIR, language)


def format_number(value: int | float, language: str) -> str:
    """A number as `language` writes it (digit grouping, Arabic digits for `ar`)."""
    return format_decimal(value, locale=language)


_SIZE_UNITS: Final = (
    ("digital-gigabyte", 10**9),
    ("digital-megabyte", 10**6),
    ("digital-kilobyte", 10**3),
)


def format_size(size: int, language: str) -> str:
    """A size in bytes as `language` abbreviates it, in the largest unit that fits (1.5 GB)."""
    for unit, factor in _SIZE_UNITS:
        if size >= factor:
            return format_unit(round(size / factor, 1), unit, length="short", locale=language)
    return format_unit(size, "digital-byte", length="short", locale=language)


def format_timestamp(ts_ms: int | None, language: str) -> str:
    """A Unix time in milliseconds as a medium date and time in UTC for `language`."""
    if ts_ms is None:
        return "—"
    moment = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    return format_datetime(moment, format="medium", tzinfo=UTC, locale=language)


def format_day(ts_ms: int, language: str) -> str:
    """A Unix time in ms (UTC) as `language` writes the day (5 December 2026)."""
    return format_date(datetime.fromtimestamp(ts_ms / 1000, tz=UTC), format="long", locale=language)


def format_day_of_month(ts_ms: int, language: str) -> str:
    """The day of the month of a Unix time in ms (UTC), as `language` writes it: a chart label."""
    return format_date(datetime.fromtimestamp(ts_ms / 1000, tz=UTC), format="d", locale=language)
