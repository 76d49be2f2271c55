"""JSON responses encoded with msgspec (fast, and it encodes Structs directly)."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.responses import Response
from typing_extensions import override

_encoder = msgspec.json.Encoder()


class JsonResponse(Response):
    """`application/json` response; content may be a dict, list or msgspec Struct."""

    media_type = "application/json"

    @override
    def render(self, content: Any) -> bytes:
        return _encoder.encode(content)


def empty() -> JsonResponse:
    """The `{}` many endpoints answer with."""
    return JsonResponse({})
