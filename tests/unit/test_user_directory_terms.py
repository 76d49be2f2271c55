"""User directory terms and the prefix ranges that find them."""

from __future__ import annotations

from bastion.services.directory.user_index import directory_terms
from bastion.services.directory.users import prefix_range


def test_terms_are_folded_tokens_of_the_id_and_display_name() -> None:
    assert directory_terms("@m.ali:example.org", "مُحَمَّد Żółw") == {
        "m", "ali", "example", "org", "محمد", "zolw",
    }  # fmt: skip
    assert directory_terms("@bob:example.org", None) == {"bob", "example", "org"}


def test_prefix_ranges_hold_exactly_the_strings_with_the_prefix() -> None:
    low, high = prefix_range("ann")
    assert (low, high) == ("ann", "ano")
    inside = ["ann", "anna", "annz\U0010ffff"]
    outside = ["anm", "ano", "an", "b"]
    assert all(low <= s < high for s in inside)
    assert not any(low <= s < high for s in outside)
    # The next code point after U+D7FF is a surrogate, which cannot be stored: skip past them.
    assert prefix_range("a\ud7ff") == ("a\ud7ff", "a\ue000")
