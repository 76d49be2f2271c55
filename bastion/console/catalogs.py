"""The console's catalog sources: for the completeness test and for translators
(`python -m bastion.console.catalogs ar` prints the missing entries as .po stubs)."""

from __future__ import annotations

import sys
from pathlib import Path

from bastion.console.i18n import TRANSLATIONS_DIR
from bastion.i18n import catalogs
from bastion.i18n.catalogs import JINJA2, CatalogSources

CONSOLE_SOURCES = CatalogSources(
    root=Path(__file__).parent,
    translations_dir=TRANSLATIONS_DIR,
    method_map=[("templates/**.html", JINJA2), ("**.py", "python")],
)


def used_msgids() -> dict[str, str]:
    """Every msgid in the console's code and templates → where it first occurs."""
    return catalogs.used_msgids(CONSOLE_SOURCES)


def missing(language: str) -> dict[str, str]:
    """The console's msgids `language` does not translate, with where they are used."""
    return catalogs.missing(CONSOLE_SOURCES, language)


if __name__ == "__main__":
    catalogs.print_stubs(CONSOLE_SOURCES, sys.argv[1:])
