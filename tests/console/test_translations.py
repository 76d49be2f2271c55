"""Every visible string of the console is translated into Arabic and Polish.

Issue #16: "every visible string translated: a test fails on any untranslated catalog entry".
The msgids are extracted from the templates and the Python modules with Babel (Jinja2's
extractor for templates), as `pybabel extract` would.
"""

from __future__ import annotations

import re

import pytest

from bastion.console.catalogs import missing, used_msgids
from bastion.console.i18n import load_translations

PLACEHOLDER = re.compile(r"%\(\w+\)s")


def test_the_extraction_finds_the_console_strings() -> None:
    found = used_msgids()
    assert "Sign in to the admin console" in found  # a template
    assert "Wrong user ID or password." in found  # Python, N_()
    assert "Dashboard" in found  # the navigation


@pytest.mark.parametrize("language", ["ar", "pl"])
def test_every_msgid_is_translated(language: str) -> None:
    untranslated = missing(language)
    assert not untranslated, f"{len(untranslated)} untranslated in {language}: " + "; ".join(
        f"{where}: {msgid!r}" for msgid, where in sorted(untranslated.items())[:20]
    )


@pytest.mark.parametrize("language", ["en", "ar", "pl"])
def test_each_catalog_compiles_with_matching_placeholders(language: str) -> None:
    """A translation keeps every `%(name)s` of its msgid (else rendering would fail)."""
    translations = load_translations(language)
    for msgid in used_msgids():
        text = translations.gettext(msgid)
        placeholders = sorted(set(PLACEHOLDER.findall(msgid)))
        assert sorted(set(PLACEHOLDER.findall(text))) == placeholders, msgid
