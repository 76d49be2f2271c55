"""Client-supplied JSON decoded into a typed Struct, failing with the spec's error codes.

Not JSON at all is 400 M_NOT_JSON; JSON of the wrong shape is 400 M_BAD_JSON naming what was
wrong. Used for request bodies (api/bodies.py) and for filters passed in query strings.

Invariants, for every value this returns:
- nesting is at most MAX_DEPTH arrays/objects deep, so the recursive code after it (canonical
  JSON, auth rules, push rules) never meets Python's recursion limit (deeper: M_BAD_JSON);
- no string (key or value) holds a NUL, which PostgreSQL refuses in text (M_BAD_JSON); lone
  surrogates never get this far, the JSON decoder refuses them (M_NOT_JSON);
- integers declared `SafeInt` / `NonNegativeInt` are within the canonical JSON range.
Both checks cost nothing for ordinary input: only a body with more than MAX_DEPTH brackets or
a `\\u0000` escape is decoded a second time, untyped, and walked without recursion.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.events.canonical import MAX_SAFE_INTEGER

T = TypeVar("T")

MAX_DEPTH = 64

SafeInt = Annotated[int, msgspec.Meta(ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER)]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0, le=MAX_SAFE_INTEGER)]


def decode_as(raw: str | bytes, expected: type[T], *, what: str) -> T:
    """`raw` as `expected`; `what` names the input in the error ("request body", "filter")."""
    data = raw.encode() if isinstance(raw, str) else raw
    if data.count(b"[") + data.count(b"{") > MAX_DEPTH or b"\\u0000" in data:
        _check_untyped(data, what)
    try:
        return msgspec.json.decode(data, type=expected)
    except msgspec.ValidationError as exc:
        raise MatrixError(400, Errcode.BAD_JSON, f"invalid {what}: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise MatrixError(400, Errcode.NOT_JSON, f"{what} is not valid JSON") from exc


def _check_untyped(data: bytes, what: str) -> None:
    """The depth and NUL checks, on the document decoded without a type."""
    try:
        document = msgspec.json.decode(data)
    except RecursionError as exc:  # far deeper than MAX_DEPTH
        raise _too_deep(what) from exc
    except msgspec.DecodeError as exc:
        raise MatrixError(400, Errcode.NOT_JSON, f"{what} is not valid JSON") from exc
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise MatrixError(400, Errcode.BAD_JSON, f"{what} contains a NUL character")
            continue
        if isinstance(value, dict | list) and depth > MAX_DEPTH:
            raise _too_deep(what)
        if isinstance(value, dict):
            pending.extend((key, depth) for key in value)
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)


def _too_deep(what: str) -> MatrixError:
    return MatrixError(400, Errcode.BAD_JSON, f"{what} is nested more than {MAX_DEPTH} deep")
