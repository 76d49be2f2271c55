"""Which parts of an event carry text a person wrote, and replacing found spans in them.

Looked at, for every event type except `m.room.encrypted` (ciphertext): `body`,
`formatted_body` and `filename` (a message, a file's name, its caption: a file whose `body`
differs from its `filename` uses `body` as the caption), the same inside `m.new_content` (an
edit), `name` of `m.room.name`, `topic` of `m.room.topic` and the text of its `m.topic` block.
Redaction replaces each found span with `REDACTED`, merging overlaps, and returns new content:
the draft's content is never mutated in place.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bastion.events.types import EventType

REDACTED = "[redacted]"
ENCRYPTED = "m.room.encrypted"
_MESSAGE_FIELDS = ("body", "formatted_body", "filename")
Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class TextField:
    """A string in an event's content: its dotted `name`, where it is, and the text."""

    name: str
    path: Path
    text: str


def text_fields(event_type: str, content: dict[str, Any]) -> list[TextField]:
    """The text fields of an event's content, in a fixed order."""
    if event_type == ENCRYPTED:
        return []
    found = [TextField(k, (k,), content[k]) for k in _MESSAGE_FIELDS if _is_text(content.get(k))]
    new_content = content.get("m.new_content")
    if isinstance(new_content, dict):
        found += [
            TextField(f"m.new_content.{k}", ("m.new_content", k), new_content[k])
            for k in _MESSAGE_FIELDS
            if _is_text(new_content.get(k))
        ]
    if event_type == EventType.NAME and _is_text(content.get("name")):
        found.append(TextField("name", ("name",), content["name"]))
    if event_type == EventType.TOPIC:
        found += _topic_fields(content)
    return found


def _is_text(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _topic_fields(content: dict[str, Any]) -> list[TextField]:
    found = []
    if _is_text(content.get("topic")):
        found.append(TextField("topic", ("topic",), content["topic"]))
    block = content.get("m.topic")
    texts = block.get("m.text") if isinstance(block, dict) else None
    if isinstance(texts, list):
        for i, item in enumerate(texts):
            if isinstance(item, dict) and _is_text(item.get("body")):
                found.append(TextField("m.topic", ("m.topic", "m.text", i, "body"), item["body"]))
    return found


def redact_spans(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """`text` with every span replaced by REDACTED (overlapping spans merged)."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + REDACTED + text[end:]
    return text


def redacted_content(
    content: dict[str, Any], spans: dict[Path, list[tuple[int, int]]], fields: Sequence[TextField]
) -> dict[str, Any]:
    """A copy of `content` with the spans found in each field replaced."""
    rewritten = copy.deepcopy(content)
    for field in fields:
        found = spans.get(field.path)
        if not found:
            continue
        parent: Any = rewritten
        for key in field.path[:-1]:
            parent = parent[key]
        parent[field.path[-1]] = redact_spans(field.text, found)
    return rewritten
