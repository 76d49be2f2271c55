"""Languages of the console: catalogs, the language of a request, and locale-aware formatting.

The gettext catalogs are the `.po` files under `translations/<lang>/LC_MESSAGES/`; they are
compiled in memory at start-up (`read_po` + `write_mo`), so there is no build step and a `.po`
edit shows on the next start. One Jinja2 environment per language has its translations installed
(new-style gettext: `_("Hello %(name)s", name=...)` escapes its arguments).

The language of a request: the `lang` cookie (set by the switcher on every page), else the
session's, else the browser's `Accept-Language`, else English. Arabic is right-to-left.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

LANGUAGES: Final = ("en", "ar", "pl")
DEFAULT_LANGUAGE: Final = "en"
RTL_LANGUAGES: Final = frozenset({"ar"})
# Each language's name in itself, for the switcher.
LANGUAGE_NAMES: Final = {"en": "English", "ar": "العربية", "pl": "Polski"}
TRANSLATIONS_DIR: Final = Path(__file__).parent / "translations"


def catalog_path(language: str) -> Path:
    """The `.po` file of `language`."""
    return TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po"


def load_translations(language: str) -> Translations:
    """Compile `language`'s catalog in memory."""
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


def text_direction(language: str) -> str:
    """`rtl` or `ltr`: the `dir` of the page's `<html>`."""
    return "rtl" if language in RTL_LANGUAGES else "ltr"


def supported(language: str | None) -> str | None:
    """`language` if the console speaks it (`ar-EG` counts as `ar`), else None."""
    if not language:
        return None
    primary = language.strip().lower().split("-")[0].split("_")[0]
    return primary if primary in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The best of our languages in an `Accept-Language` header (RFC 9110 weights), or None."""
    if not header:
        return None
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        language = supported(tag)
        if language is not None and weight > 0:
            weighted.append((-weight, index, language))
    return min(weighted)[2] if weighted else None


def choose_language(candidates: Iterable[str | None], accept_language: str | None) -> str:
    """The first supported of `candidates` (cookie, session), else the browser's, else English."""
    for candidate in candidates:
        if (language := supported(candidate)) is not None:
            return language
    return from_accept_language(accept_language) or DEFAULT_LANGUAGE


def format_number(value: int | float, language: str) -> str:
    """A number as `language` writes it (digit grouping, Arabic digits for `ar`)."""
    return format_decimal(value, locale=language)


def format_timestamp(ts_ms: int | None, language: str) -> str:
    """A Unix time in milliseconds as a medium date and time in UTC for `language`."""
    if ts_ms is None:
        return "—"
    moment = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    return format_datetime(moment, format="medium", tzinfo=UTC, locale=language)


def format_day_of_month(ts_ms: int, language: str) -> str:
    """The day of the month of a Unix time in ms (UTC), as `language` writes it: a chart label."""
    return format_date(datetime.fromtimestamp(ts_ms / 1000, tz=UTC), format="d", locale=language)
