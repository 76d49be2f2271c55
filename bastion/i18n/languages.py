"""Which language a page is in, and the compiled catalogs and Jinja2 environments that render it.

Catalogs are `.po` files under `<translations>/<lang>/LC_MESSAGES/messages.po`, compiled in
memory when loaded (`read_po` + `write_mo`): no build step, and an edited `.po` shows on the next
start. A Jinja2 environment has its language's translations installed with new-style gettext,
so `_("Hello %(name)s", name=...)` escapes its arguments. Arabic is right-to-left.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import BaseLoader, Environment, select_autoescape
from markupsafe import Markup

LANGUAGES: Final = ("en", "ar", "pl")
DEFAULT_LANGUAGE: Final = "en"
RTL_LANGUAGES: Final = frozenset({"ar"})
# Each language's name in itself, for a switcher.
LANGUAGE_NAMES: Final = {"en": "English", "ar": "العربية", "pl": "Polski"}


def N_(message: str) -> str:  # gettext's name for "mark for extraction only"
    """`message` unchanged: marks a msgid that is translated later, where it is shown."""
    return message


def bidi_isolate(value: object) -> Markup:
    """`<bdi>value</bdi>`, escaped: a name, ID or number inside translated text keeps its own
    direction (an English user ID inside an Arabic sentence)."""
    return Markup("<bdi>{}</bdi>").format(value)


def catalog_path(translations_dir: Path, language: str) -> Path:
    """The `.po` file of `language` under `translations_dir`."""
    return translations_dir / language / "LC_MESSAGES" / "messages.po"


def load_translations(translations_dir: Path, language: str) -> Translations:
    """Compile `language`'s catalog under `translations_dir` in memory."""
    with catalog_path(translations_dir, language).open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


def translated_environment(
    loader: BaseLoader, translations: Translations, *, trim: bool = False
) -> Environment:
    """A Jinja2 environment that autoescapes everything and translates with `translations`."""
    env = Environment(
        loader=loader,
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=trim,
        lstrip_blocks=trim,
    )
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]  # added by the i18n extension
    return env


def text_direction(language: str) -> str:
    """`rtl` or `ltr`: the `dir` of the page's `<html>`."""
    return "rtl" if language in RTL_LANGUAGES else "ltr"


def supported(language: str | None) -> str | None:
    """`language` if we speak it (`ar-EG` counts as `ar`), else None."""
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
    """The first supported of `candidates` (a cookie, a session), else the browser's, else
    English."""
    for candidate in candidates:
        if (language := supported(candidate)) is not None:
            return language
    return from_accept_language(accept_language) or DEFAULT_LANGUAGE
