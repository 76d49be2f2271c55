"""Client-supplied JSON decoded into a typed Struct, failing with the spec's error codes.

Not JSON at all is 400 M_NOT_JSON; JSON of the wrong shape is 400 M_BAD_JSON naming what was
wrong. Used for request bodies (api/bodies.py) and for filters passed in query strings.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

from bastion.errors import Errcode, MatrixError

T = TypeVar("T")


def decode_as(raw: str | bytes, expected: type[T], *, what: str) -> T:
    """`raw` as `expected`; `what` names the input in the error ("request body", "filter")."""
    try:
        return msgspec.json.decode(raw, type=expected)
    except msgspec.ValidationError as exc:
        raise MatrixError(400, Errcode.BAD_JSON, f"invalid {what}: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise MatrixError(400, Errcode.NOT_JSON, f"{what} is not valid JSON") from exc
