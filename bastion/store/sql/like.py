"""LIKE patterns built from user input: its own `%`, `_` and `\\` taken literally (each query
says `ESCAPE '\\'`), so a search for "50%" or "a_b" finds those characters, nothing more."""

from __future__ import annotations


def escape_like(text: str) -> str:
    """`text` with LIKE's wildcards and the escape character escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(text: str) -> str:
    """A pattern matching `text` anywhere."""
    return f"%{escape_like(text)}%"
