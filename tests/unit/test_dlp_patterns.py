"""DLP's organisation-written detectors (keywords, regexes, medical record numbers), the
save-time checks of the `dlp` policy section, and redaction of found spans.

Issue #13 §4: "medical record numbers by configurable pattern, plus keyword lists and regexes";
the brief: "guard against catastrophic regexes: compile at policy-save time, refuse invalid ones
with 400, and bound the text length".
"""

from __future__ import annotations

import pytest

from bastion.errors import MatrixError
from bastion.services.dlp.content import REDACTED, redact_spans, text_fields
from bastion.services.dlp.patterns import WINDOW, keyword_finder, pattern_finder
from bastion.services.policy.dlp_section import pattern_problem
from bastion.services.policy.document import parse_policy


def test_keywords_match_whole_words_in_any_case_and_script() -> None:
    find = keyword_finder(["Project Falcon", "سري للغاية", "tajne"])
    text = "About PROJECT FALCON: سري للغاية, ściśle tajne; projectfalcon, tajnego"
    assert [text[f.start : f.end] for f in find(text)] == [
        "PROJECT FALCON", "سري للغاية", "tajne",
    ]  # fmt: skip


def test_medical_record_pattern_reads_arabic_indic_digits() -> None:
    find = pattern_finder("medical_record", r"MRN-\d{7}")
    text = "patient MRN-١٢٣٤٥٦٧ and MRN-۱۲۳۴۵۶۷ but not MRN-123"
    assert [text[f.start : f.end] for f in find(text)] == ["MRN-١٢٣٤٥٦٧", "MRN-۱۲۳۴۵۶۷"]
    assert {f.detector for f in find(text)} == {"medical_record"}


def test_patterns_search_bounded_windows_and_find_across_their_edges() -> None:
    """Each search sees at most WINDOW characters; windows overlap so a short match that
    straddles an edge is still found, once."""
    find = pattern_finder("regex", r"SECRET-\d{4}")
    edge = WINDOW - 5  # the match crosses the end of the first window
    text = "x" * edge + "SECRET-1234" + "y" * (3 * WINDOW)
    assert [(f.start, f.end) for f in find(text)] == [(edge, edge + 11)]


@pytest.mark.parametrize(
    "pattern",
    ["(a+)+$", r"(\d{2,})*x", "(x|y+)*z", "(", r"(a)\1", "a*", "", "x" * 600],
)
def test_dangerous_or_invalid_patterns_are_refused(pattern: str) -> None:
    assert pattern_problem(pattern) is not None


@pytest.mark.parametrize(
    "pattern",
    [r"MRN-\d{7}", r"[A-Z]{2}\d{6}", r"(ab)+c", r"(?:x|y)+z", r"[^]a]+x", r"[(]+x", r"\(a+\)+x"],
)
def test_ordinary_patterns_are_accepted(pattern: str) -> None:
    assert pattern_problem(pattern) is None


def test_a_policy_with_a_catastrophic_regex_is_refused_naming_it() -> None:
    document = {
        "dlp": {
            "policies": [
                {"name": "bad", "detectors": [{"type": "regex", "pattern": "(a+)+$"}],
                 "action": "block"},
            ]
        }
    }  # fmt: skip
    with pytest.raises(MatrixError) as refused:
        parse_policy(document)
    assert refused.value.status == 400
    assert "bad" in refused.value.message


def test_unknown_detectors_and_actions_are_refused() -> None:
    for policy in (
        {"name": "p", "detectors": ["passport"], "action": "block"},
        {"name": "p", "detectors": ["iban"], "action": "delete"},
        {"name": "p", "detectors": [{"type": "keywords"}], "action": "warn"},
    ):
        with pytest.raises(MatrixError):
            parse_policy({"dlp": {"policies": [policy]}})


def test_sections_that_cannot_run_are_refused() -> None:
    card = {"name": "p", "detectors": ["payment_card"], "action": "block"}
    for section in (
        {"policies": [card, card]},  # the same name twice
        {"policies": [{**card, "name": " "}]},
        {"policies": [{**card, "detectors": []}]},
        {"policies": [{**card, "detectors": [{"type": "keywords", "words": [" "]}]}]},
        {"policies": [{**card, "name": f"p{i}"} for i in range(101)]},
        {"phone_regions": ["XX"]},
    ):
        with pytest.raises(MatrixError) as refused:
            parse_policy({"dlp": section})
        assert refused.value.status == 400


def test_text_fields_cover_messages_edits_files_names_and_topics() -> None:
    edit = {"body": "* hi", "m.new_content": {"body": "hi", "formatted_body": "<b>hi</b>"}}
    assert [f.name for f in text_fields("m.room.message", edit)] == [
        "body", "m.new_content.body", "m.new_content.formatted_body",
    ]  # fmt: skip
    file = {"msgtype": "m.file", "body": "caption", "filename": "report.pdf"}
    assert [f.name for f in text_fields("m.room.message", file)] == ["body", "filename"]
    assert [f.name for f in text_fields("m.room.name", {"name": "n"})] == ["name"]
    topic = {"topic": "t", "m.topic": {"m.text": [{"body": "t", "mimetype": "text/plain"}]}}
    assert [f.name for f in text_fields("m.room.topic", topic)] == ["topic", "m.topic"]
    assert text_fields("m.room.encrypted", {"body": "ciphertext?"}) == []


def test_redaction_merges_overlapping_spans() -> None:
    assert redact_spans("abc 123 def", [(4, 7), (5, 6)]) == f"abc {REDACTED} def"
    assert redact_spans("1 2", [(0, 1), (2, 3)]) == f"{REDACTED} {REDACTED}"
