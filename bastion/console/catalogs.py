"""Which msgids the console uses, and which a catalog lacks: for the completeness test and for
translators (`python -m bastion.console.catalogs ar` prints the missing entries as .po stubs).

The msgids are extracted with Babel from the templates (Jinja2's extractor: `_()`, `{% trans %}`)
and the Python modules (`_()`, `N_()`), exactly as `pybabel extract` would.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bastion.console.i18n import LANGUAGES, catalog_path

CONSOLE_DIR = Path(__file__).parent
METHOD_MAP = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS_MAP = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}


def used_msgids() -> dict[str, str]:
    """Every msgid in the console's code and templates → where it first occurs."""
    found: dict[str, str] = {}
    extracted = extract_from_dir(
        str(CONSOLE_DIR), METHOD_MAP, OPTIONS_MAP, keywords={"_": None, "N_": None, "gettext": None}
    )
    for filename, lineno, message, _comments, _context in extracted:
        msgid = message if isinstance(message, str) else message[0]
        found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def translated_msgids(language: str) -> set[str]:
    """The msgids `language`'s catalog translates (a non-empty, non-fuzzy msgstr)."""
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=language)
    return {
        str(message.id)
        for message in catalog
        if message.id and message.string and not message.fuzzy
    }


def missing(language: str) -> dict[str, str]:
    """The used msgids `language` does not translate, with where they are used."""
    translated = translated_msgids(language)
    return {msgid: where for msgid, where in used_msgids().items() if msgid not in translated}


def main(argv: list[str]) -> int:
    for language in argv or [code for code in LANGUAGES if code != "en"]:
        for msgid, where in missing(language).items():
            escaped = msgid.replace("\\", "\\\\").replace('"', '\\"')
            print(f'# {language}\n#: {where}\nmsgid "{escaped}"\nmsgstr ""\n')
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
