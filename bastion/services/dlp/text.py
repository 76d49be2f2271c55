"""Reading digits as people write them: Arabic-Indic (U+0660-0669) and Extended Arabic-Indic
(U+06F0-06F9) digits, grouped with spaces, dashes or dots.

`normalize_digits` maps those digits to ASCII one character for one, so an index in the
normalised text is the same index in the original (redaction relies on it). `digit_candidates`
yields every run of digit groups (separated by one common separator) whose digit count is one
of the wanted lengths, so "call 123 456 789 or 44051401359" offers 44051401359 on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_DIGITS = str.maketrans(
    {chr(0x0660 + i): str(i) for i in range(10)} | {chr(0x06F0 + i): str(i) for i in range(10)}
)
# space, no-break space, narrow no-break space, thin space, hyphen-minus, hyphen,
# non-breaking hyphen, figure dash, en dash, full stop
SEPARATORS = " \u00a0\u202f\u2009-\u2010\u2011\u2012\u2013."
_RUN = re.compile(f"(?<![0-9])[0-9]+(?:[{re.escape(SEPARATORS)}][0-9]+)*(?![0-9])")
_GROUP = re.compile(r"[0-9]+")
MAX_GROUPS = 24  # groups one candidate may span (a card written digit by digit has 19)


@dataclass(frozen=True, slots=True)
class DigitSpan:
    """Digits found at `text[start:end]` (separators included in the span, not in `digits`)."""

    start: int
    end: int
    digits: str


def normalize_digits(text: str) -> str:
    """`text` with Arabic-Indic and Extended Arabic-Indic digits as ASCII (same length)."""
    return text.translate(_DIGITS)


def count_digits(normalized: str) -> int:
    """How many ASCII digits `normalized` holds (a cheap pre-filter)."""
    return sum(normalized.count(d) for d in "0123456789")


def digit_candidates(normalized: str, lengths: range | tuple[int, ...]) -> Iterator[DigitSpan]:
    """Every run of consecutive digit groups in `normalized` whose digit count is in `lengths`."""
    longest = max(lengths)
    for run in _RUN.finditer(normalized):
        groups = list(_GROUP.finditer(normalized, run.start(), run.end()))
        for first, group in enumerate(groups):
            digits = ""
            for last in groups[first : first + MAX_GROUPS]:
                digits += last.group()
                if len(digits) > longest:
                    break
                if len(digits) in lengths:
                    yield DigitSpan(group.start(), last.end(), digits)


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check: cards, Saudi IDs, Emirates IDs."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


@dataclass(frozen=True, slots=True)
class Finding:
    """What a detector found: its name and where, `text[start:end]` (never the text itself)."""

    detector: str
    start: int
    end: int
