"""Client input at the edge: typed_json.decode_as (depth, NUL, integers) and query_params."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from bastion.errors import MatrixError
from bastion.events.canonical import MAX_SAFE_INTEGER
from bastion.events.query_params import query_int
from bastion.events.typed_json import MAX_DEPTH, NonNegativeInt, SafeInt, decode_as


class Limits(msgspec.Struct, frozen=True):
    limit: NonNegativeInt = 0
    offset: SafeInt = 0


def _errcode(raw: str | bytes, expected: type[Any] = dict[str, Any]) -> str:
    with pytest.raises(MatrixError) as caught:
        decode_as(raw, expected, what="request body")
    assert caught.value.status == 400
    return str(caught.value.errcode)


def test_nesting_is_bounded() -> None:
    """spec: client-server-api#standard-error-response: "M_BAD_JSON: Request contained valid
    JSON, but it was malformed in some way". Nesting the server will not recurse into is."""
    fits = '{"a":' * (MAX_DEPTH - 1) + "[]" + "}" * (MAX_DEPTH - 1)
    assert decode_as(fits, dict[str, Any], what="body")["a"] is not None
    one_more = '{"a":' * MAX_DEPTH + "[]" + "}" * MAX_DEPTH
    assert _errcode(one_more) == "M_BAD_JSON"
    assert _errcode("[" * MAX_DEPTH + "{}" + "]" * MAX_DEPTH, Any) == "M_BAD_JSON"
    assert _errcode('{"a":' * 10_000 + "1" + "}" * 10_000) == "M_BAD_JSON"
    # many brackets side by side are not deep
    wide = "[" + ",".join(["[]"] * (MAX_DEPTH * 2)) + "]"
    assert len(decode_as(wide, list[Any], what="body")) == MAX_DEPTH * 2


def test_broken_json_with_many_brackets_is_not_json() -> None:
    """spec: "M_NOT_JSON: Request did not contain valid JSON"."""
    assert _errcode("[" * (MAX_DEPTH + 1)) == "M_NOT_JSON"
    assert _errcode('{"a": "\\u0000"') == "M_NOT_JSON"
    assert _errcode('{"a": "\\ud800"}') == "M_NOT_JSON"  # a lone surrogate


def test_nul_in_any_string_is_refused() -> None:
    """A NUL cannot be stored as PostgreSQL text: M_BAD_JSON, wherever it is."""
    assert _errcode('{"a": "x\\u0000y"}') == "M_BAD_JSON"
    assert _errcode('{"a\\u0000": 1}') == "M_BAD_JSON"
    assert _errcode('{"a": [1, {"b": ["\\u0000"]}]}') == "M_BAD_JSON"
    # an escaped backslash followed by "u0000" is six characters, not a NUL
    assert decode_as('{"a": "\\\\u0000"}', dict[str, Any], what="body") == {"a": "\\u0000"}


def test_integer_fields_are_bounded() -> None:
    """spec: appendices#canonical-json: integers are in the range [-(2**53)+1, (2**53)-1]."""
    body = decode_as(f'{{"limit": {MAX_SAFE_INTEGER}, "offset": -5}}', Limits, what="body")
    assert body == Limits(limit=MAX_SAFE_INTEGER, offset=-5)
    for bad in ('{"limit": -1}', f'{{"limit": {2**53}}}', f'{{"offset": {-(2**63)}}}'):
        assert _errcode(bad, Limits) == "M_BAD_JSON"


def test_query_integers() -> None:
    """spec: "M_INVALID_PARAM: A parameter that was specified has the wrong value. For
    example, the server expected an integer and instead received a string."."""
    params = {"limit": "10", "ts": "-3", "big": str(MAX_SAFE_INTEGER), "plus": "+7"}
    assert query_int(params, "limit") == 10
    assert query_int(params, "missing") is None
    assert query_int(params, "missing", 5) == 5
    assert query_int(params, "big") == MAX_SAFE_INTEGER
    assert query_int(params, "plus") == 7
    assert query_int(params, "ts", minimum=-10) == -3
    bad = ["-1", str(2**53), str(2**63), str(2**64), "1" * 5000, "ten", "", "1.5", "٣", "-"]
    for raw in bad:
        with pytest.raises(MatrixError) as caught:
            query_int({"limit": raw}, "limit")
        assert (caught.value.status, str(caught.value.errcode)) == (400, "M_INVALID_PARAM")
    with pytest.raises(MatrixError):
        query_int({"n": "11"}, "n", maximum=10)
