"""Detectors the organisation writes: keyword lists, regular expressions, medical record numbers.

Keywords are whole words or phrases, matched case-insensitively (Unicode word boundaries, so
Arabic and Polish words work). Regexes and medical record patterns are Python regular
expressions, checked when the policy is saved (services/policy/dlp_section.py refuses invalid
ones, back-references and nested repetition). They run over the text with Arabic-Indic digits
read as ASCII (so `\\d{7}` and `[0-9]{7}` both see ٠١٢٣٤٥٦), and over windows of at most
`WINDOW` characters overlapping by `OVERLAP`: whatever slipped past the save-time check, one
search never sees more than a window, so a pathological pattern costs a bounded time per window.
The price: a match longer than `OVERLAP` that straddles two windows is not found.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from bastion.services.dlp.text import Finding, normalize_digits

WINDOW = 4096
OVERLAP = 256


def keyword_finder(words: Sequence[str]) -> Callable[[str], list[Finding]]:
    """A detector for any of `words`, as whole words, in any case."""
    cleaned = sorted({w.strip() for w in words if w.strip()}, key=len, reverse=True)
    alternatives = "|".join(re.escape(w) for w in cleaned)
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    def keywords(text: str) -> list[Finding]:
        return [Finding("keywords", m.start(), m.end()) for m in pattern.finditer(text)]

    return keywords


def pattern_finder(name: str, pattern: str) -> Callable[[str], list[Finding]]:
    """A detector named `name` for `pattern` (already checked at save time)."""
    compiled = re.compile(pattern)

    def find(text: str) -> list[Finding]:
        normalized = normalize_digits(text)
        spans: dict[tuple[int, int], None] = {}
        step = WINDOW - OVERLAP
        for offset in range(0, max(len(normalized) - OVERLAP, 1), step):
            window = normalized[offset : offset + WINDOW]
            for match in compiled.finditer(window):
                if match.end() > match.start():
                    spans[(offset + match.start(), offset + match.end())] = None
        return [Finding(name, start, end) for start, end in spans]

    return find
