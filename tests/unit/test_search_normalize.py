"""Search tokens: one definition for indexing and querying, in English, Polish and Arabic."""

from __future__ import annotations

import pytest

from bastion.services.search.normalize import MAX_TOKEN_CHARS, normalize, tokens
from bastion.services.search.query import MAX_PHRASES, highlights, parse_query
from bastion.store.protocols import SearchPhrase
from bastion.store.sql.search import fts5_match, tsquery_literal, tsvector_literal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, World!", ["hello", "world"]),
        ("STRASSE Straße", ["strasse", "strasse"]),
        ("\ufb01ne \uff46\uff55\uff4c\uff4c", ["fine", "full"]),  # ligature, fullwidth
        ("e-mail foo_bar it's", ["e", "mail", "foo", "bar", "it", "s"]),
        ("café naïve Ångström", ["cafe", "naive", "angstrom"]),
        ("v2 2024-05-01", ["v2", "2024", "05", "01"]),
    ],
)
def test_english_and_latin(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


@pytest.mark.parametrize(
    ("written", "typed"),
    [
        ("żółw", "zolw"),
        ("Łódź", "lodz"),
        ("ŁÓDŹ", "lodz"),
        ("zażółć gęślą jaźń", "zazolc gesla jazn"),
        ("Śląsk", "slask"),
        ("ćma", "cma"),
        ("koń", "kon"),
    ],
)
def test_polish_letters_match_their_base_letters(written: str, typed: str) -> None:
    assert tokens(written) == tokens(typed)


@pytest.mark.parametrize(
    ("written", "typed"),
    [
        ("الْكِتَابُ", "الكتاب"),  # fatha, kasra, damma, sukun
        ("مُحَمَّدٌ", "محمد"),  # shadda, tanween
        ("هٰذا", "هذا"),  # superscript alef
        ("مـــدرســـة", "مدرسة"),  # tatweel
        ("أحمد", "احمد"),  # alef with hamza above
        ("إسلام", "اسلام"),  # alef with hamza below
        ("آمن", "امن"),  # alef with madda
        ("ٱلله", "الله"),  # alef wasla
        ("مدرسة", "مدرسه"),  # ta marbuta / heh
        ("على", "علي"),  # alef maqsura / yeh
        ("مسؤول", "مسوول"),  # waw with hamza
        ("سائل", "سايل"),  # yeh with hamza
        ("كتاب", "ﻛﺘﺎﺏ"),  # presentation forms
        ("٢٠٢٤", "2024"),  # Arabic-Indic digits
        ("کتاب", "كتاب"),  # keheh / kaf
    ],
)
def test_arabic_variants_are_one_token(written: str, typed: str) -> None:
    assert tokens(written) == tokens(typed)
    assert len(tokens(written)) == 1


def test_arabic_distinct_words_stay_distinct() -> None:
    assert tokens("كتب كتاب مكتبة") == ["كتب", "كتاب", "مكتبه"]


def test_hebrew_points_are_dropped() -> None:
    assert tokens("שָׁלוֹם") == tokens("שלום")


def test_marks_of_other_scripts_stay_inside_their_word() -> None:
    assert tokens("हिन्दी भाषा") == ["हिन्दी", "भाषा"]
    assert tokens("ภาษาไทย") == ["ภาษาไทย"]


def test_ideographs_and_kana_are_one_token_each() -> None:
    assert tokens("東京に行く") == ["東", "京", "に", "行", "く"]
    assert tokens("서울 날씨") == ["서울", "날씨"]  # Hangul is written with spaces


def test_overlong_runs_are_not_tokens() -> None:
    assert tokens("a" * (MAX_TOKEN_CHARS + 1) + " word") == ["word"]
    assert tokens("a" * MAX_TOKEN_CHARS) == ["a" * MAX_TOKEN_CHARS]


@pytest.mark.parametrize(
    "text",
    ["Żółw ŁÓDŹ", "الْكِتَابُ مـــدرســـة أحمد", "Straße ﬁne", "東京に", "हिन्दी", "ǅemal ǈ"],
)
def test_normalising_twice_changes_nothing(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once
    assert tokens(" ".join(tokens(text))) == tokens(text)


def test_parse_query_makes_phrases_with_prefixes() -> None:
    assert parse_query("Żółw e-mail ok") == [
        SearchPhrase(["zolw"], prefix=True),
        SearchPhrase(["e", "mail"], prefix=True),
        SearchPhrase(["ok"], prefix=False),
    ]
    assert parse_query('"new release" notes') == [
        SearchPhrase(["new", "release"], prefix=True),
        SearchPhrase(["notes"], prefix=True),
    ]
    assert parse_query("東京") == [SearchPhrase(["東", "京"], prefix=False)]


def test_parse_query_drops_repeats_punctuation_and_excess() -> None:
    assert parse_query("zolw Żółw ... !!") == [SearchPhrase(["zolw"], prefix=True)]
    assert parse_query("   ") == []
    many = " ".join(f"word{i}" for i in range(MAX_PHRASES + 5))
    assert len(parse_query(many)) == MAX_PHRASES


def test_highlights_name_the_words_as_written() -> None:
    phrases = parse_query("zolw on")
    found = highlights(phrases, ["Żółw i żółwie, On", "ona? ZÓŁWIK"])
    assert found == ["zolw", "on", "Żółw", "żółwie", "On", "ZÓŁWIK"]
    assert "ona" not in found  # "on" is too short to match as a prefix


def test_highlights_leave_out_single_letters_but_not_ideographs() -> None:
    assert highlights(parse_query("e-mail"), ["my e-mail"]) == ["mail"]
    assert highlights(parse_query("東京"), ["東京に"]) == ["東", "京"]


def test_fts5_match_quotes_every_phrase() -> None:
    phrases = [SearchPhrase(["e", "mail"], prefix=True), SearchPhrase(['a"b'])]
    assert fts5_match(phrases) == '"e mail"* "a""b"'


def test_tsquery_literal_is_the_same_query() -> None:
    phrases = [SearchPhrase(["e", "mail"], prefix=True), SearchPhrase(["it's"])]
    assert tsquery_literal(phrases) == "('e' <-> 'mail':*) & ('it''s')"


def test_tsvector_literal_keeps_positions() -> None:
    assert tsvector_literal(["a", "b", "a", "c\\d"]) == "'a':1,3 'b':2 'c\\\\d':4"
    assert tsvector_literal(["x"] * 3 + ["y"] * 20000).endswith(",16383")
