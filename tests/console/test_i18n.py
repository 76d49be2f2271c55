"""Choosing the console's language (pure functions of bastion/console/i18n.py)."""

from __future__ import annotations

import pytest

from bastion.i18n.languages import choose_language, from_accept_language, text_direction


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ar-EG,ar;q=0.9,en;q=0.8", "ar"),
        ("de-DE, pl;q=0.5, en;q=0.7", "en"),  # the highest weight we speak
        ("fr, de", None),
        ("pl;q=0, en;q=0.1", "en"),  # q=0 means "not this one"
        ("pl;q=oops, ar", "ar"),
        ("", None),
    ],
)
def test_accept_language(header: str, expected: str | None) -> None:
    """RFC 9110 §12.5.4: "Each language-range can be given an associated quality value"."""
    assert from_accept_language(header) == expected


def test_the_switcher_wins_over_the_browser() -> None:
    assert choose_language(["pl", "ar"], "ar") == "pl"
    assert choose_language([None, "xx"], "ar;q=0.3") == "ar"
    assert choose_language([], None) == "en"
    assert text_direction("ar") == "rtl"
    assert text_direction("pl") == "ltr"
