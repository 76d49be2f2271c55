"""Which msgids a set of pages uses, and which a catalog lacks: for the completeness tests and
for translators (the console's and the SSO pages' `catalogs` modules print the missing entries
as .po stubs).

The msgids are extracted with Babel from templates (Jinja2's extractor: `_()`, `{% trans %}`)
and Python modules (`_()`, `N_()`, `gettext()`), exactly as `pybabel extract` would.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bastion.i18n.languages import DEFAULT_LANGUAGE, LANGUAGES, catalog_path

JINJA2: str = "jinja2.ext:babel_extract"
JINJA2_OPTIONS: dict[str, str] = {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}
KEYWORDS: dict[str, None] = {"_": None, "N_": None, "gettext": None}


@dataclass(frozen=True)
class CatalogSources:
    """Where one catalog's msgids come from: the files under `root` matched by `method_map`'s
    (glob, extractor) pairs, Babel's format (templates with `JINJA2`, modules with "python")."""

    root: Path
    translations_dir: Path
    method_map: list[tuple[str, str]] = field(default_factory=list)

    def options_map(self) -> dict[str, dict[str, str]]:
        return {glob: JINJA2_OPTIONS for glob, method in self.method_map if method == JINJA2}


def used_msgids(sources: CatalogSources) -> dict[str, str]:
    """Every msgid the sources use → where it first occurs."""
    found: dict[str, str] = {}
    extracted = extract_from_dir(
        str(sources.root), sources.method_map, sources.options_map(), keywords=KEYWORDS
    )
    for filename, lineno, message, _comments, _context in extracted:
        msgid = message if isinstance(message, str) else message[0]
        found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def translated_msgids(translations_dir: Path, language: str) -> set[str]:
    """The msgids `language`'s catalog translates (a non-empty, non-fuzzy msgstr)."""
    with catalog_path(translations_dir, language).open("rb") as po:
        catalog = read_po(po, locale=language)
    return {
        str(message.id)
        for message in catalog
        if message.id and message.string and not message.fuzzy
    }


def missing(sources: CatalogSources, language: str) -> dict[str, str]:
    """The used msgids `language` does not translate, with where they are used."""
    translated = translated_msgids(sources.translations_dir, language)
    used = used_msgids(sources)
    return {msgid: where for msgid, where in used.items() if msgid not in translated}


def print_stubs(sources: CatalogSources, languages: Iterable[str]) -> None:
    """Print a .po stub for each missing entry of `languages` (all but English when empty)."""
    for language in list(languages) or [code for code in LANGUAGES if code != DEFAULT_LANGUAGE]:
        for msgid, where in missing(sources, language).items():
            escaped = msgid.replace("\\", "\\\\").replace('"', '\\"')
            print(f'# {language}\n#: {where}\nmsgid "{escaped}"\nmsgstr ""\n')
