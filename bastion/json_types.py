"""The one name for a JSON object as it crosses the code: a decoded body, an event's content, a
response being built. Its values are whatever JSON holds, so they stay `Any`; the shapes that
matter are checked where they enter (msgspec structs, the spec's schemas), not by this alias."""

from __future__ import annotations

from typing import Any

JsonObject = dict[str, Any]
