"""Integers in query strings: THE parser every endpoint uses (`?limit=`, `?ts=`, `?timeout=`).

A query integer is decimal ASCII digits, optionally signed where the range allows it, within
`minimum..maximum`; anything else is 400 M_INVALID_PARAM naming the parameter. The default
range is 0..2^53-1 (spec: appendices#canonical-json, the integers a Matrix client can hold),
so no value reaches a database column it would overflow (SQLite and PostgreSQL hold 64 bits).
Lives beside typed_json.py because services parse query strings too (services/sync/request.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import overload

from bastion.errors import Errcode, MatrixError
from bastion.events.canonical import MAX_SAFE_INTEGER

# More digits than any value in range has: refused before int() reads a huge string.
_MAX_DIGITS = len(str(MAX_SAFE_INTEGER)) + 1


@overload
def query_int(
    params: Mapping[str, str], name: str, default: int, *, minimum: int = ..., maximum: int = ...
) -> int: ...
@overload
def query_int(
    params: Mapping[str, str],
    name: str,
    default: None = None,
    *,
    minimum: int = ...,
    maximum: int = ...,
) -> int | None: ...
def query_int(
    params: Mapping[str, str],
    name: str,
    default: int | None = None,
    *,
    minimum: int = 0,
    maximum: int = MAX_SAFE_INTEGER,
) -> int | None:
    """The integer parameter `name`, or `default` when absent."""
    raw = params.get(name)
    if raw is None:
        return default
    digits = raw[1:] if raw[:1] in ("-", "+") else raw
    if not (digits.isascii() and digits.isdigit() and len(digits) <= _MAX_DIGITS):
        raise MatrixError(400, Errcode.INVALID_PARAM, f"{name} must be an integer, not {raw!r}")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise MatrixError(
            400, Errcode.INVALID_PARAM, f"{name} must be between {minimum} and {maximum}"
        )
    return value
