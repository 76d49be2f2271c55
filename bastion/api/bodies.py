"""Request bodies: JSON decoded straight into typed Structs at the edge.

A body that is not JSON gives 400 M_NOT_JSON; JSON of the wrong shape (not an object, a field
of the wrong type, a required field missing) gives 400 M_BAD_JSON. The size limit is enforced
before this, by the HTTP edge (413 M_TOO_LARGE).
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from starlette.requests import Request

from bastion.events.typed_json import decode_as

T = TypeVar("T")


async def decode_body(request: Request, body_type: type[T]) -> T:
    """Decode the request body as `body_type`."""
    return decode_as(await request.body(), body_type, what="request body")


async def decode_optional_body(request: Request, body_type: type[T]) -> T:
    """Like decode_body, but an empty body counts as `{}` (its fields' defaults)."""
    raw = await request.body()
    if not raw.strip():
        return msgspec.convert({}, body_type)
    return decode_as(raw, body_type, what="request body")


async def decode_object(request: Request) -> dict[str, Any]:
    """Decode the body as a JSON object of any shape."""
    return await decode_body(request, dict[str, Any])


async def decode_optional_object(request: Request) -> dict[str, Any]:
    """Like decode_object, but an empty body counts as `{}` (some clients send none)."""
    return await decode_optional_body(request, dict[str, Any])
