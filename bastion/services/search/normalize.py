"""Search text normalisation: the one definition of a search token, for indexing and querying.

Pure and deterministic. The index stores the tokens of each searchable text and every query is
cut into tokens by the same function, so a match never depends on the database: SQLite's FTS5
and PostgreSQL's tsvector both receive tokens made here and never tokenise text themselves.

What makes two spellings the same token:
- Unicode compatibility forms and case: NFKC, then casefold ("ﬁ" → "fi", "Straße" → "strasse").
- Latin (and Greek, Cyrillic) diacritics: the combining marks of the canonical decomposition are
  dropped, and "ł"/"đ", which have none, are mapped, so "zolw" finds "żółw".
- Arabic: tashkeel (harakat, shadda, sukun, superscript alef, Quranic marks) and tatweel are
  dropped; alef with hamza or madda and alef wasla become a bare alef, waw and yeh hamza carriers
  their bare letter, ta marbuta becomes heh, alef maqsura and Persian yeh become yeh, Persian
  keheh becomes kaf, and Arabic-Indic digits become ASCII digits.
- Hebrew points (niqqud, cantillation) are dropped the same way.

Tokens are runs of letters, digits and (remaining) combining marks, so scripts whose vowel signs
are marks (Devanagari, Thai, ...) keep whole words. Han ideographs and kana, written without
spaces, become one token per character; a query matches them as a phrase of adjacent characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

MAX_TOKEN_CHARS = 100  # longer runs (hashes, base64) are not words; PostgreSQL caps lexemes too

_STRIPPED_RANGES = (
    (0x0300, 0x036F),  # combining diacritical marks (Latin, Greek, Cyrillic)
    (0x1AB0, 0x1AFF),  # ... extended
    (0x1DC0, 0x1DFF),  # ... supplement
    (0x20D0, 0x20FF),  # ... for symbols
    (0xFE20, 0xFE2F),  # combining half marks
    (0x0591, 0x05BD),  # Hebrew cantillation and points
    (0x05BF, 0x05BF),
    (0x05C1, 0x05C2),
    (0x05C4, 0x05C5),
    (0x05C7, 0x05C7),
    (0x0610, 0x061A),  # Arabic honorific and Quranic signs
    (0x064B, 0x065F),  # tashkeel: fathatan .. sukun, madda/hamza above and below, ...
    (0x0670, 0x0670),  # superscript alef
    (0x06D6, 0x06DC),  # Quranic annotation marks
    (0x06DF, 0x06E4),
    (0x06E7, 0x06E8),
    (0x06EA, 0x06ED),
    (0x0640, 0x0640),  # tatweel (kashida)
)

_ALEF, _WAW, _YEH = "\N{ARABIC LETTER ALEF}", "\N{ARABIC LETTER WAW}", "\N{ARABIC LETTER YEH}"
_LETTERS = {
    "\N{ARABIC LETTER ALEF WASLA}": _ALEF,
    "\N{ARABIC LETTER ALEF WITH WAVY HAMZA ABOVE}": _ALEF,
    "\N{ARABIC LETTER ALEF WITH WAVY HAMZA BELOW}": _ALEF,
    # These five decompose to a bare letter and a stripped mark already; listed for clarity.
    "\N{ARABIC LETTER ALEF WITH HAMZA ABOVE}": _ALEF,
    "\N{ARABIC LETTER ALEF WITH HAMZA BELOW}": _ALEF,
    "\N{ARABIC LETTER ALEF WITH MADDA ABOVE}": _ALEF,
    "\N{ARABIC LETTER WAW WITH HAMZA ABOVE}": _WAW,
    "\N{ARABIC LETTER YEH WITH HAMZA ABOVE}": _YEH,
    "\N{ARABIC LETTER TEH MARBUTA}": "\N{ARABIC LETTER HEH}",
    "\N{ARABIC LETTER ALEF MAKSURA}": _YEH,
    "\N{ARABIC LETTER FARSI YEH}": _YEH,  # Persian and Urdu keyboards type these two
    "\N{ARABIC LETTER KEHEH}": "\N{ARABIC LETTER KAF}",
    "\N{LATIN SMALL LETTER L WITH STROKE}": "l",  # no decomposition, unlike the other Polish ones
    "\N{LATIN SMALL LETTER D WITH STROKE}": "d",
    **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
    **{chr(0x06F0 + d): str(d) for d in range(10)},  # Extended Arabic-Indic (Persian) digits
}

_TRANSLATION: dict[int, str | None] = {
    **{c: None for low, high in _STRIPPED_RANGES for c in range(low, high + 1)},
    **{ord(k): v for k, v in _LETTERS.items()},
}


def _mark_ranges() -> str:
    """Every combining mark of the BMP and SMP as a regex class body (ranges, escaped)."""
    marks = [c for c in range(0x20000) if unicodedata.category(chr(c)).startswith("M")]
    ranges: list[tuple[int, int]] = []
    for c in marks:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1] = (ranges[-1][0], c)
        else:
            ranges.append((c, c))
    return "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges)


_CJK = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs, extension A, compatibility
    "\U00020000-\U0002fa1f"  # extensions B-F, compatibility supplement
)
_MARKS = _mark_ranges()
# A CJK character on its own, or a run of letters, digits and marks (underscore is punctuation).
_TOKEN = re.compile(f"[{_CJK}]|(?:(?![{_CJK}])[^\\W_]|[{_MARKS}])+")
_IDEOGRAPH = re.compile(f"[{_CJK}]")


def is_ideograph(token: str) -> bool:
    """True for a token made of one Han ideograph or kana (see the module docstring)."""
    return _IDEOGRAPH.fullmatch(token) is not None


def normalize(text: str) -> str:
    """The text with case, compatibility forms, diacritics and letter variants folded."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    stripped = unicodedata.normalize("NFD", folded).translate(_TRANSLATION)
    return unicodedata.normalize("NFC", stripped)


def tokens(text: str) -> list[str]:
    """The search tokens of `text`, in order (repeats kept: positions matter for phrases)."""
    return [t for t in _TOKEN.findall(normalize(text)) if len(t) <= MAX_TOKEN_CHARS]


def surface_words(text: str) -> Iterator[tuple[str, list[str]]]:
    """Each word of `text` as written, with its tokens: for highlighting what matched."""
    for match in _TOKEN.finditer(text):
        word = match[0]
        found = tokens(word)
        if found:
            yield word, found
