"""A search term as phrases of tokens, and the words to highlight in what it found.

Each whitespace-separated word of the term, or each "double-quoted" part, is one phrase: its
tokens must appear next to each other ("e-mail" matches the tokens `e mail`, "東京" two adjacent
characters). Every phrase must match (AND). The last token of a phrase matches as a prefix when
it has at least PREFIX_MIN_CHARS characters, so "zolw" also finds "żółwie" and "kota" "kotami":
inflected languages (Polish, Arabic) need it more than English does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from bastion.services.search.normalize import is_ideograph, surface_words, tokens
from bastion.store.protocols import SearchPhrase

MAX_PHRASES = 16
PREFIX_MIN_CHARS = 3

_PART = re.compile(r'"([^"]*)"|(\S+)')


def parse_query(search_term: str) -> list[SearchPhrase]:
    """The phrases of a search term, without repeats; [] when it has no words at all."""
    phrases: dict[tuple[str, ...], SearchPhrase] = {}
    for match in _PART.finditer(search_term):
        quoted, word = match.groups()
        found = tokens(quoted if quoted is not None else word)
        if found and len(phrases) < MAX_PHRASES:
            prefix = len(found[-1]) >= PREFIX_MIN_CHARS
            phrases.setdefault(tuple(found), SearchPhrase(found, prefix=prefix))
    return list(phrases.values())


def _matches(token: str, phrases: Sequence[SearchPhrase]) -> bool:
    return any(token in p.tokens or (p.prefix and token.startswith(p.tokens[-1])) for p in phrases)


def highlights(phrases: Sequence[SearchPhrase], texts: Iterable[str]) -> list[str]:
    """The query's tokens and the words of `texts`, as written there, that they matched.

    Clients mark these strings in the results; the written forms ("Żółw" for the query "zolw")
    let them mark words the normalised query does not spell the same way. One-letter tokens
    are left out (they would mark every such letter), except ideographs and kana.
    """
    words = dict.fromkeys(t for p in phrases for t in p.tokens if _worth_marking(t))
    for text in texts:
        for word, found in surface_words(text):
            if len(found) == 1 and _worth_marking(found[0]) and _matches(found[0], phrases):
                words.setdefault(word)
    return list(words)


def _worth_marking(token: str) -> bool:
    return len(token) > 1 or is_ideograph(token)
